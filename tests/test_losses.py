"""Each loss term against a number worked out by hand."""

import math

import numpy as np
import pytest
from conftest import numpy

from ladderae import losses


def test_bernoulli_nll_sums_over_every_non_batch_axis():
    x = np.array([[[1.0, 0.0], [0.5, 1.0]]], dtype="float32")  # one example of shape (2, 2)
    logits = np.array([[[0.0, 2.0], [-1.0, 30.0]]], dtype="float32")
    # -[x log s(l) + (1-x) log(1-s(l))] per pixel, summed.
    expected = math.log(2) + math.log1p(math.exp(2)) + (0.5 * math.log1p(math.exp(1)) + 0.5 * math.log1p(math.exp(-1))) + math.log1p(math.exp(-30))
    np.testing.assert_allclose(numpy(losses.bernoulli_nll(x, logits)), [expected], rtol=1e-6)


def test_bernoulli_nll_is_stable_for_huge_logits():
    out = numpy(losses.bernoulli_nll(np.array([[0.0, 1.0]], "float32"), np.array([[200.0, -200.0]], "float32")))
    np.testing.assert_allclose(out, [400.0], rtol=1e-6)


def test_gaussian_nll():
    x = np.array([[1.0, -1.0]], "float32")
    mean = np.array([[0.0, 0.0]], "float32")
    log_scale = np.array([0.0, math.log(2.0)], "float32")
    expected = (0.5 * math.log(2 * math.pi) + 0.5) + (0.5 * math.log(2 * math.pi) + math.log(2.0) + 0.125)
    np.testing.assert_allclose(numpy(losses.gaussian_nll(x, mean, log_scale)), [expected], rtol=1e-6)


def test_gaussian_kl_per_dimension():
    mean = np.array([[0.0, 1.0]], "float32")
    log_var = np.array([[0.0, math.log(4.0)]], "float32")
    # 0.5 * (mu^2 + var - 1 - log var)
    expected = [[0.0, 0.5 * (1 + 4 - 1 - math.log(4.0))]]
    np.testing.assert_allclose(numpy(losses.gaussian_kl(mean, log_var)), expected, rtol=1e-6, atol=1e-7)


def test_reparameterize_uses_the_standard_deviation_not_the_variance():
    z = losses.reparameterize(np.array([1.0], "float32"), np.array([math.log(4.0)], "float32"), np.array([1.0], "float32"))
    np.testing.assert_allclose(numpy(z), [3.0], rtol=1e-6)  # 1 + sqrt(4) * 1, not 1 + 4 * 1


def test_mse_is_a_mean_over_units_and_batch():
    np.testing.assert_allclose(numpy(losses.mse(np.array([[0.0, 2.0]], "float32"), np.array([[1.0, 0.0]], "float32"))), 2.5)


def test_normalized_mse_divides_by_the_encoder_batch_variance_and_ignores_common_scale():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(64, 5)).astype("float32")
    b = a + rng.normal(scale=0.1, size=a.shape).astype("float32")
    floor = losses.NORMALIZED_MSE_FLOOR * 0.5 * (np.mean(a**2) + np.mean(b**2))
    by_hand = np.mean(np.mean((a - b) ** 2, axis=0) / (a.var(axis=0) + floor))
    np.testing.assert_allclose(numpy(losses.normalized_mse(a, b)), by_hand, rtol=1e-5)
    # Shrinking both sides 10x lowers plain MSE 100x and leaves the normalised loss as it was: the floor scales too.
    np.testing.assert_allclose(numpy(losses.mse(a / 10, b / 10)), numpy(losses.mse(a, b)) / 100, rtol=1e-5)
    np.testing.assert_allclose(numpy(losses.normalized_mse(a / 10, b / 10)), by_hand, rtol=1e-4)


@pytest.mark.parametrize("case", ["one_row", "constant_unit", "all_zero"])
def test_normalized_mse_stays_bounded_where_the_batch_variance_is_zero(case):
    rng = np.random.default_rng(1)
    a = rng.normal(size=(16, 4)).astype("float32")
    if case == "one_row":  # a last batch of one example: every unit's variance is 0
        a = a[:1]
    elif case == "constant_unit":  # a dead unit: variance 0 in one unit only
        a[:, 0] = 0.0
    else:
        a = np.zeros_like(a)
    b = a + 0.1
    value = float(numpy(losses.normalized_mse(a, b)))
    # At most 1 / floor times the mismatch: 100 * (0.1^2) / mean square of both sides.
    bound = np.mean((a - b) ** 2) / (losses.NORMALIZED_MSE_FLOOR * 0.5 * (np.mean(a**2) + np.mean(b**2)))
    assert np.isfinite(value) and value <= bound * 1.0001


def test_pair_loss_registry():
    assert {"mse", "normalized_mse"} <= set(losses.pair_losses.names)
    with pytest.raises(ValueError, match="consistency_loss.*Known: mse, normalized_mse"):
        losses.pair_losses.get("cross_entropy")
