"""Pictures of a hierarchy of latents: what each latent layer encodes, one layer resampled at a time.

The Ladder VAE paper finds upper layers holding coarser structure than the
lower ones; `layer_variation` shows what each layer decides for one example,
a row per layer from the top down, so a trained model can be checked for it. Per-layer KL over
the epochs is `ladderae.plots.history` (a panel per ``kl_<latent>`` term).
"""

import numpy as np
from keras import ops

from ladderae import graph as graph_lib
from ladderae import checks, latents
from ladderae.plots import _as_images, _image_grid, _image_shape, _positive_int, _save

__all__ = ["layer_variation"]


def layer_variation(model, x, n=8, seed=0, path=None, *, image_shape=None):
    """Decode x's first example n times per latent layer, that layer drawn from its posterior, every other at its mean.

    Rows run from the top latent ``z`` down to ``z1``; the layers below a
    resampled one take their posterior means given it, so a row shows what
    that layer alone decides. Means of p(x | z) are drawn.
    """
    network = model.network
    if not network.latents:
        raise ValueError(
            "layer_variation draws a hierarchy of latents: build the model with pair_kind='stochastic' and a "
            "latent_dim list. For one latent use ladderae.plots.samples or latent_manifold."
        )
    n = _positive_int("n", n)
    shape = _image_shape(model, image_shape)
    x = checks.check_rows("x", x)
    h = model._flatten(ops.convert_to_tensor(np.repeat(x[:1], n, axis=0)))
    rng, widths, rows = np.random.default_rng(seed), latents.widths(network), []
    for name in widths:  # the top first
        noise = {other: np.zeros((n, width), "float32") for other, width in widths.items()}
        noise[name] = rng.standard_normal((n, widths[name]), dtype="float32")
        out = network.forward(h, {k: ops.convert_to_tensor(v) for k, v in noise.items()}, training=False)
        rows.append(ops.convert_to_numpy(model.likelihood(out[graph_lib.OUTPUT])))
    fig = _image_grid(_as_images(np.concatenate(rows), shape), n,
                      f"one layer resampled per row, the others at their means (seed {seed})", row_labels=list(widths))
    return _save(fig, path)
