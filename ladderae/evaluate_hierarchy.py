"""Figures of a hierarchy of latents (a Ladder VAE) over all its layers, as `ladderae.evaluate` gives them for one.

- `iwae_nll`: -log (1/k) sum_s p(x, z_1..z_L) / q(z_1..z_L | x) per example,
  each sample drawn top down through the merged posteriors; k=1 is the
  negative ELBO with sampled KL terms, and the bound tightens as k grows.
- `elbo`: the negative ELBO with its reconstruction and per-layer KL
  (analytic given the sampled layers above), nats per example.
- `active_units`: per layer, the units whose posterior mean varies across data.

The noise comes from NumPy, one generator per example, so each figure is the
same however the work is chunked. They work for one-latent models too.
"""

import math

import keras
import numpy as np
from keras import ops

from ladderae import graph as graph_lib
from ladderae import latents
from ladderae.checks import check_positive_int, check_rows
from ladderae.compiled import compiled
from ladderae.evaluate import ACTIVE_THRESHOLD, _chunks

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

    The deterministic encoder below the bottleneck runs once per example and
    is repeated (the same values an evaluation walk over repeated rows gives);
    the bottleneck and the decoder, where the samples differ, run on every row.
    """
    network = model.network
    below = network.encoder_path()[:-1]
    h = model._flatten(ops.convert_to_tensor(x))
    samples = ops.shape(next(iter(noise.values())))[0] // ops.shape(h)[0]
    bottom_up = {name: ops.repeat(value, samples, axis=0)
                 for name, value in network.walk(below, h, None, training=False).items()}
    h = ops.repeat(h, samples, axis=0)
    rest = network.order[len(below) + 1:]
    noise = {name: ops.convert_to_tensor(value) for name, value in noise.items()}
    top_down = network.walk(rest, bottom_up[below[-1]] if below else h, noise, context=bottom_up, training=False)
    return {**bottom_up, **top_down}, h


def _log_weights(model, inputs):
    """log p(x | z) + log p(z_1..z_L) - log q(z_1..z_L | x) per row of `inputs`' noise (example-major)."""
    out, h = _pass(model, inputs["x"], inputs["noise"])
    return -model.likelihood.nll(h, out[graph_lib.OUTPUT]) + latents.log_ratio(model.network, out)


def iwae_nll(model, x, k=5000, seed=0, max_rows=5_000, verbose=1):
    """Per-example IWAE bound on -log p(x) over every latent layer, k importance samples (see the module)."""
    model._require_variational("iwae_nll")
    check_positive_int("k", k)
    check_positive_int("max_rows", max_rows)
    x = check_rows("x", x)
    samples_per_chunk = min(k, max_rows)
    out = np.empty(len(x))
    progress = keras.utils.Progbar(len(x), verbose=verbose, unit_name="image")
    log_weights = compiled(model, _log_weights)
    for start, stop in _chunks(len(x), max(1, max_rows // samples_per_chunk)):
        rngs = [np.random.default_rng([seed, i]) for i in range(start, stop)]
        total = np.full(stop - start, -np.inf)
        for s0, s1 in _chunks(k, samples_per_chunk):
            log_w = log_weights({"x": x[start:stop], "noise": _noise(model, rngs, s1 - s0)})
            total = np.logaddexp(total, _logsumexp(log_w.astype("float64").reshape(stop - start, s1 - s0)))
        out[start:stop] = -(total - math.log(k))
        progress.update(stop)
    return out


def _logsumexp(log_w):
    top = log_w.max(axis=1)
    return top + np.log(np.exp(log_w - top[:, None]).sum(axis=1))


def elbo(model, x, seed=0, batch_size=1000):
    """Negative ELBO, reconstruction (one sample per example) and ``kl_<latent>`` per layer, nats per example."""
    model._require_variational("elbo")
    x = check_rows("x", x)
    check_positive_int("batch_size", batch_size)
    recon, kl = np.empty(len(x)), {}
    for start, stop in _chunks(len(x), batch_size):
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
    model._require_variational("active_units")
    codes = model.encode(check_rows("x", x))
    codes = codes if isinstance(codes, dict) else {graph_lib.LATENT: codes}
    return {name: int(np.sum(values.var(axis=0) > threshold)) for name, values in codes.items()}
