"""Pictures of a hierarchy of latents: what each latent layer encodes, one layer resampled at a time.

The Ladder VAE paper finds upper layers holding coarser structure than the
lower ones. Both pictures draw a row per layer from the top down, so a
trained model can be checked for it: `prior_variation` in generation (one
layer redrawn from its prior under a fixed draw of the layers above: the
top's row changes the digit, a low layer's only its strokes, when the
hierarchy is used as the paper finds), `layer_variation` for one example
(one layer drawn from its posterior). Per-layer KL over the epochs is
`ladderae.plots.history` (a panel per ``kl_<latent>`` term).
"""

import numpy as np
from keras import ops

from ladderae.nn.context import WalkContext
from ladderae.graph import build as graph_lib
from ladderae import checks
from ladderae.nn import latents
from ladderae.plots.canvas import as_images, image_grid, positive_int, resolve_image_shape, save

__all__ = ["layer_variation", "prior_variation"]


def layer_variation(model, x, n=8, seed=0, path=None, *, image_shape=None):
    """Decode x's first example n times per latent layer, that layer drawn from its posterior, every other at its mean.

    Rows run from the top latent ``z`` down to ``z1``; the layers below a
    resampled one take their posterior means given it, so a row shows what
    that layer alone decides. Means of p(x | z) are drawn.
    """
    network = _hierarchy(model, "layer_variation")
    n = positive_int("n", n)
    x = checks.check_rows("x", x)
    h = model._flatten(ops.convert_to_tensor(np.repeat(x[:1], n, axis=0)))
    rng, widths, rows = np.random.default_rng(seed), latents.widths(network), []
    for name in widths:  # the top first
        noise = {other: np.zeros((n, width), "float32") for other, width in widths.items()}
        noise[name] = rng.standard_normal((n, widths[name]), dtype="float32")
        given = {k: ops.convert_to_tensor(v) for k, v in noise.items()}
        out = network.forward(h, WalkContext(training=False, given=given))
        rows.append(ops.convert_to_numpy(model.likelihood(out[graph_lib.OUTPUT])))
    return _rows(model, rows, n, widths, f"one layer resampled per row, the others at their means (seed {seed})",
                 path, image_shape)


def prior_variation(model, n=8, seed=0, path=None, *, image_shape=None):
    """Generate n digits per latent layer: that layer drawn from its prior, the layers above it fixed, those below at
    their prior means.

    One draw of every layer (top down, from the priors) is kept; row ``z_i``
    redraws z_i from p(z_i | z_{i+1}) n times under the kept layers above it
    and decodes through the prior means below it. Rows run from the top ``z``
    (a new N(0, I) draw per column) down to ``z1``. Means of p(x | z) are drawn.
    """
    network = _hierarchy(model, "prior_variation")
    n = positive_int("n", n)
    rng, widths, rows = np.random.default_rng(seed), latents.widths(network), []
    kept = {name: np.repeat(rng.standard_normal((1, width), dtype="float32"), n, axis=0)
            for name, width in widths.items()}
    for depth, name in enumerate(widths):  # the top first; the layers before `name` in `widths` are above it
        noise = {other: kept[other] if i < depth else np.zeros((n, width), "float32")
                 for i, (other, width) in enumerate(widths.items())}
        noise[name] = rng.standard_normal((n, widths[name]), dtype="float32")
        rows.append(ops.convert_to_numpy(model._generate(noise)))
    return _rows(model, rows, n, widths, f"one layer drawn from its prior per row, those above fixed (seed {seed})",
                 path, image_shape)


def _hierarchy(model, what):
    """The model's network, which must hold a hierarchy of latents."""
    if not model.network.latents:
        raise ValueError(
            f"{what} draws a hierarchy of latents: build the model with pair_kind='stochastic' and a "
            "latent_dim list. For one latent use ladderae.plots.samples or latent_manifold."
        )
    return model.network


def _rows(model, rows, n, widths, title, path, image_shape):
    """A grid of the decoded rows (n tiles each), labelled by latent name, saved to `path`."""
    images = as_images(np.concatenate(rows), resolve_image_shape(model, image_shape))
    return save(image_grid(images, n, title, row_labels=list(widths)), path)
