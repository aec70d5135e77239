"""objective="iwae": the k-sample importance-weighted bound as the training loss (Burda et al. 2016)."""

import math

import keras
import numpy as np
import pytest
from conftest import fixed_weights, gradients
from keras import ops

import ladderae

RNG = np.random.default_rng(0)
X = (RNG.random((64, 10)) > 0.5).astype("float32")


def build(k, **kwargs):
    model = ladderae.LadderAE(10, seed=0, objective="iwae", k=k,
                              **({"encoder": [8, 6], "latent_dim": 3, "pairing": "none"} | kwargs))
    return fixed_weights(model, 0.5)


def numpy_bound(model, x, out, k):
    """-log mean_s p(x, z_s) / q(z_s | x) per example, from the pass's own z, mean, log-variance and logits."""
    z, mean, log_var, logits = (ops.convert_to_numpy(out[n]).astype("float64")
                                for n in ("z", "z_mean", "z_log_var", "x_hat"))
    xs = np.concatenate([x] * k)
    log_px = -(np.logaddexp(0, logits) - xs * logits).sum(1)
    log_pz = (-0.5 * math.log(2 * math.pi) - 0.5 * z**2).sum(1)
    log_qz = (-0.5 * math.log(2 * math.pi) - 0.5 * log_var - 0.5 * (z - mean) ** 2 / np.exp(log_var)).sum(1)
    log_w = (log_px + log_pz - log_qz).reshape(k, -1)
    top = log_w.max(0)
    return -(top + np.log(np.exp(log_w - top).mean(0)))


@pytest.mark.parametrize("k", [1, 4])
def test_the_loss_is_the_k_sample_bound_worked_out_in_numpy(k):
    model = build(k)
    out = model(X, training=True)
    assert out["z"].shape[0] == k * len(X)  # k samples per example, sample-major
    terms = model.loss_terms(X, out, 0)
    expected = numpy_bound(model, X, out, k).mean()
    assert float(ops.convert_to_numpy(terms["loss"])) == pytest.approx(expected, rel=1e-5)
    assert float(ops.convert_to_numpy(terms["neg_iwae"])) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("kwargs", [
    {"pairing": "mirror", "stop_gradient": "none"},  # a consistency pair reads the repeated encoder side
    {"pairing": "mirror", "stop_gradient": "local", "batch_norm": True},  # a re-run of the inner layers; batch stats
    {"latent_dim": [4, 3], "pairing": "mirror", "pair_kind": "stochastic", "batch_norm": True},  # merges below z
], ids=["consistency", "local-batchnorm", "hierarchy"])
def test_the_layers_below_z_run_once_and_give_what_the_repeated_batch_gives(kwargs):
    """The k samples' pass equals a one-sample pass over the batch repeated k times, with the same noise: every
    activation, the loss and each variable's gradient (the encoder's work done once, not k times)."""
    model = build(4, **kwargs)
    repeated = ladderae.LadderAE.from_config({**model.get_config(), "objective": "elbo", "k": 1})
    repeated.set_weights(model.get_weights())
    noise = {}

    def fixed(m):  # the same draws, call by call, in both passes
        calls = iter(range(100))
        m._noise = lambda shape: noise.setdefault((next(calls), *shape), RNG.normal(size=shape).astype("f4"))

    x4 = np.concatenate([X] * 4)
    z_noise = RNG.normal(size=(len(x4), model.latent_dim)).astype("float32")
    outputs = {}
    walked, walk = [], model.network.walk
    model.network.walk = lambda nodes, h, *args, **kw: walked.append((nodes[0], h.shape[0])) or walk(nodes, h, *args,
                                                                                                       **kw)
    for name, m, x, samples in (("once", model, X, 4), ("repeated", repeated, x4, 1)):
        fixed(m)
        m._draw_noise = lambda rows: z_noise[:rows]
        outputs[name] = m._forward(x, True, samples)
    assert walked[:2] == [("e1", len(X)), ("z", 4 * len(X))]  # the encoder on the batch, z on its 4 copies
    assert set(outputs["once"]) == set(outputs["repeated"])
    for key, value in outputs["repeated"].items():
        np.testing.assert_allclose(ops.convert_to_numpy(outputs["once"][key]), ops.convert_to_numpy(value),
                                   rtol=1e-5, atol=1e-5, err_msg=key)
    losses = {}
    for name, m, x, samples in (("once", model, X, 4), ("repeated", repeated, x4, 1)):
        fixed(m)
        m._draw_noise = lambda rows: z_noise[:rows]
        losses[name] = gradients(m, lambda m=m, x=x, samples=samples: m.loss_terms(
            x if samples == 1 else X, m._forward(x, True, samples), 0)["neg_elbo"])
    for key, value in losses["repeated"].items():
        np.testing.assert_allclose(losses["once"][key], value, rtol=1e-4, atol=1e-5, err_msg=key)


def test_k1_equals_the_elbo_objective_in_expectation():
    iwae = build(1)
    elbo = ladderae.LadderAE.from_config({**iwae.get_config(), "objective": "elbo", "k": 1})
    elbo.set_weights(iwae.get_weights())
    x = np.concatenate([X] * 8)  # 512 rows: one draw each
    draws = [float(ops.convert_to_numpy(iwae.loss_terms(x, iwae(x, training=True), 0)["loss"])) for _ in range(20)]
    analytic = [float(ops.convert_to_numpy(elbo.loss_terms(x, elbo(x, training=True), 0)["loss"])) for _ in range(20)]
    # Same expectation: sampled KL vs analytic KL; the spread of a mean over 20 draws of 512 rows bounds the gap.
    spread = np.std(draws) / math.sqrt(len(draws)) + np.std(analytic) / math.sqrt(len(analytic))
    assert abs(np.mean(draws) - np.mean(analytic)) < 4 * spread + 0.02


def test_the_bound_tightens_with_k_on_a_trained_model():
    model = build(5)
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    model.fit(X, batch_size=16, epochs=10, verbose=0)
    bounds = {}
    for k in (1, 5, 50):
        scorer = ladderae.LadderAE.from_config({**model.get_config(), "k": k})
        scorer.set_weights(model.get_weights())
        bounds[k] = np.mean([float(ops.convert_to_numpy(scorer.loss_terms(X, scorer(X, training=True), 0)["neg_iwae"]))
                             for _ in range(5)])
    assert bounds[1] > bounds[5] > bounds[50]


def test_pairs_train_on_the_same_k_sample_activations_and_evaluate_scores_the_bound(tmp_path):
    model = build(3, pairing="mirror", consistency_weight=0.5)
    assert model.term_names[3:6] == ["neg_elbo", "neg_iwae", "consistency"]
    out = model(X, training=True)
    assert out["e1"].shape[0] == out["d1"].shape[0] == 3 * len(X)
    model.compile(optimizer="adam")
    history = model.fit(X, batch_size=16, epochs=2, verbose=0).history
    assert {"neg_iwae", "neg_elbo", "pair_e1_d1"} <= set(history)
    scores = model.evaluate(X, batch_size=64, verbose=0, return_dict=True)
    assert scores["neg_iwae"] <= scores["neg_elbo"] + 0.5  # k=3 bound, one evaluation draw
    model.save(tmp_path / "iwae.keras")
    restored = keras.saving.load_model(tmp_path / "iwae.keras")
    assert (restored.objective, restored.k) == ("iwae", 3)
    np.testing.assert_allclose(restored.reconstruct(X), model.reconstruct(X), rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(objective="vimco"), "`objective` must be one of elbo, iwae"),
        (dict(objective="iwae", k=0), "`k` must be a positive integer"),
        (dict(objective="iwae", k=2.5), "`k` must be a positive integer"),
        (dict(objective="elbo", k=5), "`k` counts the samples of objective='iwae'"),
        (dict(objective="iwae", k=5, variational=False), "needs a variational model"),
        (dict(objective="iwae", k=5, free_bits=0.5), "free_bits applies to the ELBO"),
    ],
)
def test_bad_objectives_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ladderae.LadderAE(10, encoder=[4], latent_dim=2, **kwargs)
