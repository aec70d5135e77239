"""Scoring in bounded memory: work split into chunks, and the IWAE bound accumulated over them.

`iwae_estimate` is the one loop behind `evaluate.iwae_nll` (one latent) and
`evaluate_hierarchy.iwae_nll` (a hierarchy of latents): each asks it for the
log-weights of one chunk of examples and samples, and it keeps a running
log-sum-exp per example, so k=5000 on 10,000 digits never holds more than
`max_rows` decoder rows. Each example draws from its own generator, so the
estimate does not depend on how the work is chunked.
"""

import math

import keras
import numpy as np

__all__ = ["chunks", "logsumexp", "iwae_estimate"]


def chunks(n, size):
    """[(start, stop)] covering range(n) in pieces of at most `size`."""
    return [(start, min(start + size, n)) for start in range(0, n, size)]


def logsumexp(log_w):
    """log sum_s exp(log_w[:, s]) per row, shifted by each row's largest weight so that nothing overflows."""
    top = log_w.max(axis=1)
    return top + np.log(np.exp(log_w - top[:, None]).sum(axis=1))


def iwae_estimate(examples, k, seed, max_rows, verbose, chunk_log_weights):
    """-log (1/k) sum_s w_s for each of `examples` examples, float64.

    `chunk_log_weights(start, stop, rngs, samples)` returns the log-weights of
    examples start..stop-1 for `samples` fresh draws, shape (stop - start,
    samples), drawing example i's noise from ``rngs[i - start]``.
    """
    samples_per_chunk = min(k, max_rows)
    out = np.empty(examples)
    progress = keras.utils.Progbar(examples, verbose=verbose, unit_name="image")
    for start, stop in chunks(examples, max(1, max_rows // samples_per_chunk)):
        rngs = [np.random.default_rng([seed, i]) for i in range(start, stop)]
        total = np.full(stop - start, -np.inf)
        for s0, s1 in chunks(k, samples_per_chunk):
            log_w = np.asarray(chunk_log_weights(start, stop, rngs, s1 - s0), dtype="float64")
            total = np.logaddexp(total, logsumexp(log_w.reshape(stop - start, s1 - s0)))
        out[start:stop] = -(total - math.log(k))
        progress.update(stop)
    return out
