"""LadderAE: the loss against NumPy, metrics, public methods and input errors."""

import math

import keras
import numpy as np
import pytest
from conftest import bits, compile_and_fit, fixed_weights, numpy, tiny_model, uniform
from keras import ops

import ladderae

X = bits((12, 6))
EPS = np.random.default_rng(1).normal(size=(12, 2)).astype("float32")


def tiny(**kwargs):
    """Two pairs of different weights, beta 0.7, large fixed weights, and the noise fixed to EPS."""
    args = dict(encoder=[5, 4], latent_dim=2, seed=3, consistency_weight=[0.5, 2.0], beta=0.7)
    model = fixed_weights(tiny_model(**(args | kwargs)), 0.7)
    model._draw_noise = lambda batch: ops.convert_to_tensor(EPS[: int(batch)])
    return model


def numpy_terms(model, x, likelihood):
    """The negative ELBO and pair terms, computed from the layer weights in NumPy."""
    w = {layer: numpy(model.node_layers[layer].kernel) for layer in ("e1", "e2", "d2", "d1", "x_hat")}
    b = {layer: numpy(model.node_layers[layer].bias) for layer in w}
    z_layers = model.node_layers["z"]
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    e1 = relu(x @ w["e1"] + b["e1"])
    e2 = relu(e1 @ w["e2"] + b["e2"])
    mean = e2 @ numpy(z_layers["mean"].kernel) + numpy(z_layers["mean"].bias)
    log_var = e2 @ numpy(z_layers["log_var"].kernel) + numpy(z_layers["log_var"].bias)
    z = mean + np.exp(0.5 * log_var) * EPS
    d2 = relu(z @ w["d2"] + b["d2"])
    d1 = relu(d2 @ w["d1"] + b["d1"])
    out = d1 @ w["x_hat"] + b["x_hat"]
    if likelihood == "bernoulli":
        p = 1 / (1 + np.exp(-out))
        recon = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=1).mean()
    else:
        log_scale = numpy(model.likelihood.log_scale)
        recon = (0.5 * math.log(2 * math.pi) + log_scale + 0.5 * ((x - out) / np.exp(log_scale)) ** 2).sum(1).mean()
    kl = (0.5 * (mean**2 + np.exp(log_var) - 1 - log_var)).sum(axis=1).mean()
    pair1, pair2 = ((e1 - d1) ** 2).mean(), ((e2 - d2) ** 2).mean()
    return dict(reconstruction=recon, kl=kl, pair_e1_d1=pair1, pair_e2_d2=pair2,
                loss=recon + 0.7 * kl + 0.5 * pair1 + 2.0 * pair2)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_loss_is_the_negative_elbo_plus_weighted_pairs_in_nats_per_example(likelihood):
    model = tiny(likelihood=likelihood)
    if likelihood == "gaussian":
        model.likelihood.log_scale.assign(np.linspace(-0.5, 0.5, 6).astype("float32"))
    terms = {k: float(numpy(v)) for k, v in model.loss_terms(X, model(X), 0).items()}
    expected = numpy_terms(model, X, likelihood)
    for name, value in expected.items():
        assert terms[name] == pytest.approx(value, rel=1e-5), name
    assert terms["neg_elbo"] == pytest.approx(expected["reconstruction"] + expected["kl"], rel=1e-5)
    assert terms["beta"] == pytest.approx(0.7)


def test_free_bits_floor_each_latent_dimension_in_the_loss_only():
    model = tiny(free_bits=5.0, consistency_weight=0.0)
    terms = model.loss_terms(X, model(X), 0)
    kl, loss, recon = (float(numpy(terms[k])) for k in ("kl", "loss", "reconstruction"))
    assert kl < 2 * 5.0  # the true KL is reported, below the floor of 2 dims x 5 nats
    assert loss == pytest.approx(recon + 0.7 * 2 * 5.0, rel=1e-5)


def test_fit_without_targets_reports_every_term_in_history_and_evaluate():
    model = tiny_model(encoder=[5, 4], consistency_weight=[0.5, 2.0], beta=0.7)
    logs = compile_and_fit(model, X, batch_size=4, epochs=2).history
    names = {"loss", "reconstruction", "kl", "beta", "neg_elbo", "consistency", "pair_e1_d1", "pair_e2_d2"}
    assert set(logs) == names
    assert all(len(v) == 2 and np.isfinite(v).all() for v in logs.values())
    # Epoch means of equal batches add up like the per-batch terms do.
    logged = {k: np.array(v) for k, v in logs.items()}
    np.testing.assert_allclose(logged["beta"], 0.7, rtol=1e-6)
    np.testing.assert_allclose(logged["neg_elbo"], logged["reconstruction"] + logged["kl"], rtol=1e-5)
    np.testing.assert_allclose(logged["consistency"], 0.5 * logged["pair_e1_d1"] + 2.0 * logged["pair_e2_d2"],
                               rtol=1e-5)
    np.testing.assert_allclose(logged["loss"], logged["reconstruction"] + 0.7 * logged["kl"] + logged["consistency"],
                               rtol=1e-5)
    assert set(model.evaluate(X, verbose=0, return_dict=True)) == names


def test_deterministic_model_has_no_kl_terms():
    model = tiny_model(variational=False)
    assert model.term_names == ["reconstruction", "consistency", "pair_e1_d1"]
    with pytest.raises(ValueError, match="variational=False"):
        model.sample(3)


def test_training_lowers_the_loss():
    # Two prototypes: a model that learns needs about log 2 nats to say which; chance needs 6 log 2.
    x = np.tile(np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]], "float32"), (48, 1))
    # tanh: tiny ReLU nets can die here (see test_collapse.py), which is not what this test is about.
    model = tiny_model(encoder=[16, 8], activation="tanh")
    losses = compile_and_fit(model, x, keras.optimizers.Adam(1e-2), batch_size=16, epochs=20).history["neg_elbo"]
    assert losses[0] > 3.0 and losses[-1] < 2.0


def test_public_methods_shapes_and_determinism():
    model = ladderae.LadderAE(input_shape=(3, 4), encoder=[8], latent_dim=2, seed=0)
    x = uniform((5, 3, 4))
    assert model.encode(x).shape == (5, 2)
    mean, log_var = model.posterior(x)
    np.testing.assert_allclose(mean, model.encode(x))
    assert log_var.shape == (5, 2)
    assert not np.allclose(model.encode(x, sample=True), mean)
    recon = model.reconstruct(x)
    assert recon.shape == (5, 3, 4) and ((recon > 0) & (recon < 1)).all()
    np.testing.assert_allclose(recon, model.reconstruct(x))
    np.testing.assert_allclose(model.decode(mean), recon)
    assert model.sample(7, seed=1).shape == (7, 3, 4)
    np.testing.assert_allclose(model.sample(7, seed=1), model.sample(7, seed=1))
    out = model.predict(x, verbose=0)
    assert out["reconstruction"].shape == (5, 3, 4) and out["z"].shape == (5, 2)


def test_the_sampler_draws_std_times_noise():
    """z - mean over many draws has the posterior's standard deviation exp(0.5 * log_var)."""
    model = tiny_model()
    model.node_layers["z"]["log_var"].bias.assign(np.array([math.log(4.0), math.log(0.25)], "float32"))
    x = np.repeat(X[:1], 4000, axis=0)
    out = model(x)
    log_var = numpy(out["z_log_var"])[0]
    spread = numpy(out["z"] - out["z_mean"]).std(axis=0)
    np.testing.assert_allclose(spread, np.exp(0.5 * log_var), rtol=0.05)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(), "exactly one of `input_dim`"),
        (dict(input_dim=6, input_shape=(6,)), "exactly one of `input_dim`"),
        (dict(input_dim=0), "input_dim.*positive integer"),
        (dict(input_dim=6, encoder=[4, 0]), "encoder"),
        (dict(input_dim=6, likelihood="poisson"), "Unknown likelihood 'poisson'.*bernoulli"),
        (dict(input_dim=6, activation="swishy"), "swishy"),
        (dict(input_dim=6, free_bits=-1), "free_bits"),
        (dict(input_dim=6, beta="warm"), "beta"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ladderae.LadderAE(**kwargs)


@pytest.mark.parametrize(
    "args, match",
    [
        ((np.zeros((12, 7), "float32"),), r"expects examples of shape \(6,\).*examples of shape \(7,\)"),
        ((X, X), r"fit\(x\) with no targets"),
    ],
)
def test_data_of_the_wrong_shape_and_targets_are_rejected(args, match):
    # A fresh model per case: on JAX, Keras leaves a model unusable after an error inside fit.
    model = tiny_model()
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match=match):
        model.fit(*args, epochs=1, verbose=0)
