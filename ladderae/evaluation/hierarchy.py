"""Figures of a hierarchy of latents (a Ladder VAE) over all its layers, as `ladderae.evaluate` gives them for one.

- `iwae_nll`: -log (1/k) sum_s p(x, z_1..z_L) / q(z_1..z_L | x) per example,
  each sample drawn through the posteriors as the model's walk draws them
  (top down through the merged posteriors of a Ladder VAE, bottom up for
  ``bottom_up`` pairs); k=1 is the negative ELBO with sampled KL terms, and
  the bound tightens as k grows.
- `elbo`: the negative ELBO with its reconstruction and per-layer KL
  (`ladderae.latents.kl_per_dim`: analytic given the sampled layers above),
  nats per example.
- `active_units`: per layer, the units whose posterior mean varies across data.

The noise comes from NumPy, one generator per example, so each figure is the
same however the work is chunked. They work for one-latent models too.
"""

import numpy as np
from keras import ops

from ladderae.nn.context import WalkContext
from ladderae.graph import build as graph_lib
from ladderae.nn import latents
from ladderae.evaluation import streaming
from ladderae.checks import check_non_negative, check_non_negative_int, check_positive_int, require_variational
from ladderae.nn.compiled import compiled
from ladderae.evaluation.scores import ACTIVE_THRESHOLD, checked_examples

__all__ = ["iwae_nll", "elbo", "active_units"]


def _noise(model, rngs, samples):
    """{latent: NumPy noise of shape (examples * samples, width)}, example-major; each example from its own
    generator."""
    widths = latents.widths(model.network)
    draws = np.stack([r.standard_normal((samples, sum(widths.values())), dtype="float32") for r in rngs])
    draws = draws.reshape(len(rngs) * samples, -1)
    ends = np.cumsum(list(widths.values()))
    return dict(zip(widths, np.split(draws, ends[:-1], axis=1)))


def _pass(model, x, noise):
    """The walk's activations for the draws of `noise` (example-major rows, the same number for every example of
    `x`) and those rows' x.

    The deterministic layers below the bottleneck (`NodeNetwork.shared_below`:
    all of them unless a latent is drawn on the way up) run once per example
    and are repeated (the same values an evaluation walk over repeated rows
    gives); the rest, where the samples differ, runs on every row.
    """
    network = model.network
    below = network.shared_below()
    h = model._flatten(ops.convert_to_tensor(x))
    samples = ops.shape(next(iter(noise.values())))[0] // ops.shape(h)[0]
    bottom_up = {name: ops.repeat(value, samples, axis=0)
                 for name, value in network.walk(below, h, WalkContext(training=False)).items()}
    h = ops.repeat(h, samples, axis=0)
    rest = network.order[len(below) + 1:]
    noise = {name: ops.convert_to_tensor(value) for name, value in noise.items()}
    top_down = network.walk(rest, bottom_up[below[-1]] if below else h, WalkContext(training=False, given=noise),
                            before=bottom_up)
    return {**bottom_up, **top_down}, h


def _log_weights(model, inputs):
    """log p(x | z) + log p(z_1..z_L) - log q(z_1..z_L | x) per row of `inputs`' noise (example-major)."""
    out, h = _pass(model, inputs["x"], inputs["noise"])
    return -model.likelihood.nll(h, out[graph_lib.OUTPUT]) + latents.log_ratio(model.network, out)


def iwae_nll(model, x, k=5000, seed=0, max_rows=5_000, verbose=1):
    """Per-example IWAE bound on -log p(x) over every latent layer, k importance samples (see the module)."""
    require_variational(model, "iwae_nll")
    check_positive_int("k", k)
    check_positive_int("max_rows", max_rows)
    check_non_negative_int("seed", seed)
    x = checked_examples(model, x, "evaluate_hierarchy.iwae_nll")
    log_weights = compiled(model, _log_weights)

    def chunk_log_weights(start, stop, rngs, samples):
        return log_weights({"x": x[start:stop], "noise": _noise(model, rngs, samples)})

    return streaming.iwae_estimate(len(x), k, seed, max_rows, verbose, chunk_log_weights)


def elbo(model, x, seed=0, batch_size=1000):
    """Negative ELBO, reconstruction (one sample per example) and ``kl_<latent>`` per layer, nats per example."""
    require_variational(model, "elbo")
    x = checked_examples(model, x, "evaluate_hierarchy.elbo")
    check_positive_int("batch_size", batch_size)
    check_non_negative_int("seed", seed)
    recon, kl = np.empty(len(x)), {}
    for start, stop in streaming.chunks(len(x), batch_size):
        rngs = [np.random.default_rng([seed, i]) for i in range(start, stop)]
        out, h = _pass(model, x[start:stop], _noise(model, rngs, 1))
        recon[start:stop] = ops.convert_to_numpy(model.likelihood.nll(h, out[graph_lib.OUTPUT]))
        for name, values in latents.kl_per_dim(model.network, out).items():
            kl.setdefault(name, np.empty(len(x)))[start:stop] = ops.convert_to_numpy(ops.sum(values, axis=1))
    total = sum(kl.values())
    return {"neg_elbo": float(np.mean(recon + total)), "reconstruction": float(np.mean(recon)),
            "kl": float(np.mean(total)), **{f"kl_{name}": float(np.mean(v)) for name, v in kl.items()}}


def active_units(model, x, threshold=ACTIVE_THRESHOLD):
    """{latent: number of units whose posterior mean has variance above `threshold` across `x`}, the top ``z`` last."""
    require_variational(model, "active_units")
    check_non_negative("threshold", threshold)
    codes = model.encode(checked_examples(model, x, "evaluate_hierarchy.active_units"))
    codes = codes if isinstance(codes, dict) else {graph_lib.LATENT: codes}
    return {name: int(np.sum(values.var(axis=0) > threshold)) for name, values in codes.items()}
