"""Evaluation numbers: IWAE against an exact likelihood, bounds, active units, probes, residuals."""

import math

import numpy as np
import pytest
from conftest import bits, numpy, tiny_model, uniform

import ladderae
from ladderae import evaluate
from ladderae.evaluation import scores
from ladderae.nn.compiled import compiled

W, B, SIGMA = np.array([1.5, -0.7]), np.array([0.3, 0.1]), np.array([0.5, 0.8])


def exact_linear_gaussian():
    """x = w z + b + noise, z ~ N(0, 1), with the encoder set to the exact posterior q(z|x) = p(z|x)."""
    model = ladderae.LadderAE(2, encoder=[1], latent_dim=1, activation="linear", likelihood="gaussian",
                              pairing="none", seed=0)
    precision = 1.0 + np.sum(W**2 / SIGMA**2)
    layers = model.node_layers
    f32 = lambda v: np.asarray(v, "float32")  # noqa: E731
    layers["e1"].kernel.assign(f32((W / SIGMA**2)[:, None]))
    layers["e1"].bias.assign(f32([-np.sum(W * B / SIGMA**2)]))
    layers["z"]["mean"].kernel.assign(f32([[1.0 / precision]]))
    layers["z"]["mean"].bias.assign(f32([0.0]))
    layers["z"]["log_var"].kernel.assign(f32([[0.0]]))
    layers["z"]["log_var"].bias.assign(f32([-math.log(precision)]))
    layers["d1"].kernel.assign(f32([[1.0]]))
    layers["d1"].bias.assign(f32([0.0]))
    layers["x_hat"].kernel.assign(f32(W[None, :]))
    layers["x_hat"].bias.assign(f32(B))
    model.likelihood.log_scale.assign(f32(np.log(SIGMA)))
    return model


def exact_nll(x):
    cov = np.outer(W, W) + np.diag(SIGMA**2)
    diff = x - B
    maha = np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff)
    return 0.5 * (np.log(np.linalg.det(2 * np.pi * cov)) + maha)


@pytest.mark.parametrize("k", [1, 7])
def test_iwae_is_exact_when_the_posterior_is(k):
    x = np.random.default_rng(0).normal(size=(50, 2)).astype("float32")
    estimate = evaluate.iwae_nll(exact_linear_gaussian(), x, k=k, verbose=0)
    np.testing.assert_allclose(estimate, exact_nll(x), rtol=1e-4)


def broad_posterior_model():
    """A random Bernoulli VAE whose posterior is far too broad: big gaps between the bounds."""
    model = ladderae.LadderAE(20, encoder=[16], latent_dim=4, seed=0)
    model.node_layers["z"]["log_var"].bias.assign(np.full(4, 1.0, "float32"))
    x = bits((200, 20), p=0.3, seed=1)
    return model, x


def test_iwae_tightens_with_k_and_bounds_the_elbo():
    model, x = broad_posterior_model()
    neg_elbo = evaluate.elbo(model, x)["neg_elbo"]
    bounds = [evaluate.iwae_nll(model, x, k=k, verbose=0).mean() for k in (1, 10, 100)]
    assert bounds[0] == pytest.approx(neg_elbo, rel=0.02)  # k=1 is the ELBO (with a sampled KL)
    assert bounds[0] > bounds[1] > bounds[2]


def test_iwae_is_deterministic_and_independent_of_chunking():
    model, x = broad_posterior_model()
    whole = evaluate.iwae_nll(model, x[:30], k=40, verbose=0)
    chunked = evaluate.iwae_nll(model, x[:30], k=40, max_rows=7, verbose=0)
    np.testing.assert_allclose(chunked, whole, rtol=1e-5)
    assert not np.allclose(evaluate.iwae_nll(model, x[:30], k=40, seed=1, verbose=0), whole)


def test_compiled_log_weights_equal_the_eager_ones_and_follow_the_models_weights():
    model, x = broad_posterior_model()
    mean, log_var = model.posterior(x[:3])
    inputs = {"x": x[:3], "mean": mean, "log_var": log_var,
              "eps": np.random.default_rng(0).standard_normal((3, 5, 4)).astype("float32")}
    log_weights = compiled(model, scores._log_weights)
    eager = numpy(scores._log_weights(model, inputs))
    assert eager.shape == (3, 5)
    np.testing.assert_allclose(log_weights(inputs), eager, rtol=1e-5)
    decoder_bias = model.node_layers["x_hat"].bias
    decoder_bias.assign(numpy(decoder_bias) + 1.0)  # a compiled function reads the weights of each call
    moved = numpy(scores._log_weights(model, inputs))
    assert not np.allclose(moved, eager)
    np.testing.assert_allclose(log_weights(inputs), moved, rtol=1e-5)
    np.testing.assert_allclose(numpy(scores._log_weights(model, inputs)), moved)  # the weights left as they were


def test_elbo_parts_add_up_and_match_evaluate():
    model, x = broad_posterior_model()
    out = evaluate.elbo(model, x)
    assert out["neg_elbo"] == pytest.approx(out["reconstruction"] + out["kl"])
    model.compile(optimizer="adam")
    keras_kl = model.evaluate(x, verbose=0, return_dict=True)["kl"]  # analytic, so it does not depend on noise
    assert out["kl"] == pytest.approx(keras_kl, rel=1e-4)


def test_switching_off_a_unit_makes_it_inactive():
    model = ladderae.LadderAE(20, encoder=[16], latent_dim=4, seed=0, activation="tanh")
    model.node_layers["z"]["mean"].kernel.assign(
        numpy(model.node_layers["z"]["mean"].kernel) * 10.0
    )
    x = uniform((300, 20), seed=2)
    before, _ = evaluate.active_units(model, x)
    kernel = numpy(model.node_layers["z"]["mean"].kernel)
    kernel[:, 2] = 0.0
    model.node_layers["z"]["mean"].kernel.assign(kernel)
    after, variances = evaluate.active_units(model, x)
    assert before == 4 and after == 3 and variances[2] == 0.0


def test_probes_read_separable_labels_and_not_random_ones():
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=4.0, size=(5, 8))
    y_train, y_test = rng.integers(0, 5, 600), rng.integers(0, 5, 300)
    x_train = centers[y_train] + rng.normal(size=(600, 8))
    x_test = centers[y_test] + rng.normal(size=(300, 8))
    assert evaluate.linear_probe(x_train, y_train, x_test, y_test) > 0.95
    assert evaluate.knn_accuracy(x_train, y_train, x_test, y_test) > 0.95
    shuffled = rng.permutation(y_train)
    assert evaluate.linear_probe(x_train, shuffled, x_test, y_test) < 0.4
    assert evaluate.knn_accuracy(x_train, shuffled, x_test, y_test) < 0.4


def test_pair_residuals_agree_with_the_training_metric_on_a_deterministic_model():
    model = ladderae.LadderAE(20, encoder=[16, 8], latent_dim=4, variational=False, seed=0)
    x = uniform((64, 20), seed=3)
    model.compile(optimizer="adam")
    metrics = model.evaluate(x, batch_size=64, verbose=0, return_dict=True)
    residuals = evaluate.pair_residuals(model, x)
    for name in ("pair_e1_d1", "pair_e2_d2"):
        assert residuals[name] == pytest.approx(metrics[name], rel=1e-4)


def test_report_on_real_digits(mnist_slice):
    (x_train, y_train), (x_test, y_test) = mnist_slice
    x_test = ladderae.datasets.binarize(x_test[:200], seed=0)
    model = ladderae.LadderAE(784, encoder=[64], latent_dim=8, seed=0)
    # Switch off latent units 2 and 5: an untrained model keeps the other six active on digits (variances 0.07-0.15
    # on both backends, the threshold is 0.01), so the report must count exactly 6 of 8.
    kernel = numpy(model.node_layers["z"]["mean"].kernel)
    kernel[:, [2, 5]] = 0.0
    model.node_layers["z"]["mean"].kernel.assign(kernel)
    out = evaluate.report(model, x_test, y_test[:200], x_train[:1000], y_train[:1000], k=20, iwae_images=50,
                          verbose=0)
    assert out["iwae_k"] == 20 and out["iwae_images"] == 50
    assert out["iwae_nll"] < out["neg_elbo"] + 5  # a bound on 50 images vs the ELBO on 200
    assert (out["active_units"], out["latent_dim"]) == (6, 8)
    assert out["linear_probe_accuracy"] > 0.2  # even random features of digits beat chance (0.1) twice over
    residuals = evaluate.pair_residuals(model, x_test)
    assert set(residuals) == {"pair_e1_d1"} and out["pair_e1_d1"] == pytest.approx(residuals["pair_e1_d1"])


def test_deterministic_models_are_refused_where_a_posterior_is_needed():
    model = ladderae.LadderAE(20, encoder=[8], latent_dim=2, variational=False)
    with pytest.raises(ValueError, match="variational=True"):
        evaluate.iwae_nll(model, np.zeros((2, 20), "float32"), k=2)


def _probe_data(n_train=12, n_test=6, width=3):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n_train, width)), rng.integers(0, 3, n_train), rng.normal(size=(n_test, width)), \
        rng.integers(0, 3, n_test)


@pytest.mark.parametrize("fn", [evaluate.elbo, lambda m, x: evaluate.iwae_nll(m, x, k=2, verbose=0),
                                lambda m, x: evaluate.active_units(m, x), evaluate.pair_residuals,
                                lambda m, x: evaluate.report(m, x, k=2, verbose=0)],
                         ids=["elbo", "iwae_nll", "active_units", "pair_residuals", "report"])
def test_model_evaluations_refuse_zero_rows_by_name(fn):
    model = tiny_model()
    with pytest.raises(ValueError, match=r"`x(_test)?` has no examples.*shape \(0, 6\)"):  # report's is x_test
        fn(model, np.zeros((0, 6), "float32"))


@pytest.mark.parametrize("probe", [evaluate.linear_probe, evaluate.knn_accuracy], ids=["linear_probe", "knn"])
@pytest.mark.parametrize(
    "change, match",
    [
        (lambda a: (a[0], a[1][:-1], a[2], a[3]), r"`train_labels` must hold one label per row of `train_features`"),
        (lambda a: (a[0], a[1], a[2], a[3][:2]), r"`test_labels` must hold one label per row of `test_features`"),
        (lambda a: (a[0][:0], a[1][:0], a[2], a[3]), r"`train_features` has no examples"),
        (lambda a: (a[0], a[1], a[2][:0], a[3][:0]), r"`test_features` has no examples"),
        (lambda a: (a[0], a[1], a[2][:, :2], a[3]), r"`test_features` must have as many features"),
        (lambda a: (a[0], a[1][:, None], a[2], a[3]), r"`train_labels` must hold one label per row"),
    ],
    ids=["train-lengths", "test-lengths", "empty-train", "empty-test", "widths", "2d-labels"],
)
def test_probes_refuse_mismatched_inputs_by_name(probe, change, match):
    with pytest.raises(ValueError, match=match):
        probe(*change(_probe_data()))


@pytest.mark.parametrize("k, match", [(0, "`k` must be a positive integer"), (-1, "`k` must be a positive integer"),
                                      (2.0, "`k` must be a positive integer"),
                                      (13, r"`k` must be at most the number of training examples \(12\)")])
def test_knn_refuses_k_out_of_range_by_name(k, match):
    with pytest.raises(ValueError, match=match):
        evaluate.knn_accuracy(*_probe_data(), k=k)


def test_knn_with_k_equal_to_the_training_set_votes_the_majority_and_reads_any_labels():
    x_train, x_test = np.arange(5.0)[:, None], np.array([[0.0], [4.0]])
    labels = np.array(["cat", "dog", "dog", "dog", "cat"])
    # Every test point sees all five neighbours, so both predict the majority, "dog".
    assert evaluate.knn_accuracy(x_train, labels, x_test, np.array(["dog", "cat"]), k=5) == 0.5
    assert evaluate.knn_accuracy(x_train, labels, x_test, np.array(["cat", "cat"]), k=1) == 1.0
