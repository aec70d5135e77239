"""The chunked IWAE accumulation: exact against a direct log-mean-exp, independent of chunking, overflow-free."""

import numpy as np
import pytest

from ladderae.evaluation import streaming


@pytest.mark.parametrize("n, size", [(0, 3), (1, 3), (7, 3), (9, 3), (5, 10)])
def test_chunks_cover_the_range_once_in_order(n, size):
    pieces = streaming.chunks(n, size)
    assert [i for start, stop in pieces for i in range(start, stop)] == list(range(n))
    assert all(0 < stop - start <= size for start, stop in pieces)


def test_logsumexp_matches_the_direct_sum_and_survives_large_weights():
    log_w = np.random.default_rng(0).normal(size=(4, 6))
    np.testing.assert_allclose(streaming.logsumexp(log_w), np.log(np.exp(log_w).sum(axis=1)), rtol=1e-12)
    shifted = streaming.logsumexp(log_w + 1000.0)   # exp(1000) overflows float64
    np.testing.assert_allclose(shifted, streaming.logsumexp(log_w) + 1000.0, rtol=1e-12)


def draws(start, stop, rngs, samples):
    """Log-weights that are each example's own draws: what the estimate sees depends only on its generator."""
    return np.stack([r.normal(loc=i, size=samples) for i, r in zip(range(start, stop), rngs)])


@pytest.mark.parametrize("max_rows", [1, 7, 40, 10_000])
def test_estimate_is_the_log_mean_exp_of_every_sample_however_chunked(max_rows):
    examples, k, seed = 5, 40, 3
    expected = [-(streaming.logsumexp(np.random.default_rng([seed, i]).normal(loc=i, size=(1, k)))[0] - np.log(k))
                for i in range(examples)]
    got = streaming.iwae_estimate(examples, k, seed, max_rows, 0, draws)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
