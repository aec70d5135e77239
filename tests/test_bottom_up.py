"""Bottom-up pairs: a hierarchical VAE whose latents are drawn on the way up, q(z1 | x) q(z2 | z1) ... (LVAE's VAE)."""

import math

import numpy as np
import pytest
from conftest import bits, check_png, fixed_weights, gradients, numpy, trained_and_reloaded
from keras import ops

import ladderae
from ladderae import evaluate_hierarchy, latents, plots
from ladderae.evaluation import hierarchy as hierarchy_lib
from ladderae.nn.context import WalkContext

X = bits((32, 12))
WIDTHS = {"z": 3, "z2": 4, "z1": 5}


def hvae(**kwargs):
    """Three bottom-up pairs: z1 (5) at e1/d1, z2 (4) at e2/d2, the top z (3) at e3/d3."""
    return ladderae.LadderAE(12, **(dict(encoder=[10, 8, 6], latent_dim=[5, 4, 3], pair_kind="bottom_up", seed=0)
                                    | kwargs))


def given_noise(rows, seed=0):
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal((rows, width), dtype="float32") for name, width in WIDTHS.items()}


def full_walk(model, x, noise=None):
    given = None if noise is None else {k: ops.convert_to_tensor(v) for k, v in noise.items()}
    out = model.network.walk(model.network.order[1:], model._flatten(x), WalkContext(given=given))
    return {k: numpy(v) for k, v in out.items()}


def test_z_i_is_drawn_from_e_i_on_the_way_up_and_replaces_d_i_on_the_way_down():
    model = fixed_weights(hvae(), 0.5)
    layers = model.pair_layers["e1_d1"]
    assert {part: layer.units for part, layer in layers.items()} == {"posterior": 10, "prior": 10, "up_encoder": 10,
                                                                     "up": 10}
    noise = given_noise(len(X))
    out = full_walk(model, X, noise)
    e1 = model.network.apply_node("e1", model._flatten(X), WalkContext())["e1"]  # e1's own layer, before the merge
    mean, log_var = np.split(numpy(layers["posterior"](e1)), 2, axis=-1)  # q(z1 | e1) alone: no top-down merge
    np.testing.assert_allclose(out["z1_mean"], mean, rtol=1e-5, atol=1e-6)
    # The posterior the outputs name is the one that drew z1 (what the IWAE bound's log q reads).
    np.testing.assert_allclose(out["z1"], mean + np.exp(0.5 * log_var) * noise["z1"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["e1"], numpy(layers["up_encoder"](out["z1"])), rtol=1e-5, atol=1e-6)  # e2 reads
    np.testing.assert_allclose(out["d1"], numpy(layers["up"](out["z1"])), rtol=1e-5, atol=1e-6)  # z1 goes down
    p_mean, _ = np.split(numpy(layers["prior"](model.network.apply_node("d1", out["d2"], WalkContext())["d1"])), 2, -1)
    np.testing.assert_allclose(out["z1_prior_mean"], p_mean, rtol=1e-5, atol=1e-6)  # p(z1 | z2) from d1
    deterministic = full_walk(model, X)
    np.testing.assert_array_equal(deterministic["z1"], deterministic["z1_mean"])  # a deterministic pass: the means
    top_only = model.network.walk(model.network.decoder_path(), ops.convert_to_tensor(out["z"]), WalkContext())
    np.testing.assert_array_equal(numpy(top_only["z1"]), numpy(top_only["z1_prior_mean"]))  # no e1: the prior


@pytest.mark.parametrize("kind, bottom_up", [("bottom_up", True), ("stochastic", False)])
def test_inference_is_bottom_up_z1s_noise_reaches_e2_and_z2s_posterior(kind, bottom_up):
    model = fixed_weights(hvae(pair_kind=kind), 0.5)
    noise = given_noise(len(X))
    moved = {**noise, "z1": noise["z1"] + 1.0}
    out, out_moved = full_walk(model, X, noise), full_walk(model, X, moved)
    assert not np.allclose(out["z1"], out_moved["z1"])
    for name in ("e2", "z2_mean", "z2_log_var"):
        assert np.allclose(out[name], out_moved[name]) is not bottom_up, name


def test_the_kl_per_layer_matches_a_monte_carlo_estimate():
    model = fixed_weights(hvae(), 0.3)
    rows = np.repeat(X[:4], 4000, axis=0)
    out = full_walk(model, rows, given_noise(len(rows), seed=1))  # many posterior draws per example, given noise
    terms = model.loss_terms(rows, out, 0)
    for name, z, mean, log_var, p_mean, p_log_var in latents.parts(model.network, out):
        p_mean, p_log_var = (0.0, 0.0) if p_mean is None else (p_mean, p_log_var)
        log_q = (-0.5 * (math.log(2 * math.pi) + log_var + (z - mean) ** 2 / np.exp(log_var))).sum(1)
        log_p = (-0.5 * (math.log(2 * math.pi) + p_log_var + (z - p_mean) ** 2 / np.exp(p_log_var))).sum(1)
        mc = log_q - log_p
        reported = float(numpy(terms[f"kl_{name}"]))
        assert abs(mc.mean() - reported) < 4 * mc.std() / np.sqrt(len(rows)), (name, mc.mean(), reported)


def test_the_kl_is_that_of_the_hierarchy_where_the_layer_above_reads_the_sample_below():
    """z = z1 + 0.1 eps on the way up, p(z1 | z) = N(z, 0.01): the model's KL is that of two 2-d Gaussians, 0.005
    nats; the two Gaussians' KL given the sampled z (what a top-down pair may count) would be about 98 nats."""
    model = ladderae.LadderAE(12, encoder=[1, 1], latent_dim=[1, 1], pair_kind="bottom_up", activation="linear",
                              seed=0)
    log_small = math.log(0.01)
    weights = {  # layer -> (kernel, bias); z1 ~ q = N(0, 1), e2 = z1, z ~ N(e2, 0.01), d2 = z, d1 = d2
        model.node_layers["e2"]: ([[1.0]], [0.0]), model.node_layers["z"]["mean"]: ([[1.0]], [0.0]),
        model.node_layers["z"]["log_var"]: ([[0.0]], [log_small]), model.node_layers["d2"]: ([[1.0]], [0.0]),
        model.node_layers["d1"]: ([[1.0]], [0.0]), model.pair_layers["e1_d1"]["posterior"]: ([[0.0, 0.0]], [0, 0]),
        model.pair_layers["e1_d1"]["prior"]: ([[1.0, 0.0]], [0.0, log_small]),
    }
    for layer, (kernel, bias) in weights.items():
        layer.set_weights([np.asarray(kernel, "float32"), np.asarray(bias, "float32")])
    rows = np.repeat(X[:1], 20000, axis=0)
    out = model(rows)
    terms = {k: float(numpy(v)) for k, v in model.loss_terms(rows, out, 0).items()}
    cov_q, cov_p = np.array([[1.0, 1.0], [1.0, 1.01]]), np.array([[1.01, 1.0], [1.0, 1.0]])  # (z1, z)
    exact = 0.5 * (np.trace(np.linalg.solve(cov_p, cov_q)) - 2 + np.log(np.linalg.det(cov_p) / np.linalg.det(cov_q)))
    assert exact == pytest.approx(0.005) and abs(terms["kl"] - exact) < 0.03, terms
    assert terms["kl_z1"] == pytest.approx(0.5 * log_small, abs=0.03)  # E[log q(z1) - log p(z1 | z)]: negative
    analytic = latents.gaussian_kl(out["z1_mean"], out["z1_log_var"], out["z1_prior_mean"], out["z1_prior_log_var"])
    assert float(numpy(ops.mean(ops.sum(analytic, axis=1)))) > 90


def test_gradients_reach_every_layer():
    model = fixed_weights(hvae(batch_norm=True), 0.3)
    grads = gradients(model, lambda: model.loss_terms(X, model(X, training=True), 0)["loss"])
    assert set(grads) >= {f"z{i}_{p}/kernel" for i in (1, 2) for p in ("posterior", "prior", "up_encoder", "up")}
    assert [name for name, g in grads.items() if not np.abs(g).sum() > 0] == []


def test_the_iwae_objective_draws_every_latent_per_copy_as_a_repeated_batch_would():
    """objective="iwae" with k > 1 is exact: from e1 on every layer runs on the k copies, each with its own draw."""
    model = fixed_weights(hvae(objective="iwae", k=4, batch_norm=True), 0.3)
    assert model.network.shared_below() == [] and hvae(pair_kind="stochastic").network.shared_below() == ["e1", "e2", "e3"]
    repeated = ladderae.LadderAE.from_config({**model.get_config(), "objective": "elbo", "k": 1})
    repeated.set_weights(model.get_weights())
    rng, x4 = np.random.default_rng(0), np.concatenate([X] * 4)
    z_noise = rng.normal(size=(len(x4), 3)).astype("float32")
    noise, outputs = {}, {}
    for name, m, x, samples in (("once", model, X, 4), ("repeated", repeated, x4, 1)):
        calls = iter(range(100))
        m._noise = lambda shape, calls=calls: noise.setdefault((next(calls), *shape), rng.normal(size=shape).astype("f4"))
        m._draw_noise = lambda rows: z_noise[:rows]
        outputs[name] = {k: numpy(v) for k, v in m._forward(x, True, samples).items()}
    for key, value in outputs["repeated"].items():
        np.testing.assert_allclose(outputs["once"][key], value, rtol=1e-5, atol=1e-5, err_msg=key)
    copies = outputs["once"]["z1"].reshape(4, len(X), 5)
    assert not np.allclose(copies[0], copies[1])  # each copy its own z1
    del model._noise, model._draw_noise  # the model's own noise again, for a compiled fit
    model.compile(optimizer="adam")
    history = model.fit(X, batch_size=16, epochs=1, verbose=0).history
    assert history["neg_iwae"][-1] <= history["neg_elbo"][-1]


def test_saves_and_loads_with_identical_deterministic_outputs(tmp_path):
    model = hvae(batch_norm=True, pair_kind=["bottom_up", "consistency", "bottom_up"], latent_dim=[5, 3])
    assert model.network.latents == ["z1"] and "pair_e2_d2" in model.term_names
    restored = trained_and_reloaded(model, X, tmp_path / "hvae.keras")
    assert restored.graph.edges["e1", "d1"] == {"kind": "pair", "pair_kind": "bottom_up", "units": 5}
    for name, codes in model.encode(X).items():
        np.testing.assert_array_equal(restored.encode(X)[name], codes)
    np.testing.assert_array_equal(restored.reconstruct(X), model.reconstruct(X))
    np.testing.assert_array_equal(restored.sample(4, seed=2), model.sample(4, seed=2))


def test_encode_gives_every_layer_and_sample_decodes_top_down_from_the_priors():
    model = fixed_weights(hvae(), 0.5)
    codes = model.encode(X)
    assert {k: v.shape for k, v in codes.items()} == {"z1": (32, 5), "z2": (32, 4), "z": (32, 3)}
    means = full_walk(model, X)
    for name in ("z1", "z2"):
        np.testing.assert_allclose(codes[name], means[f"{name}_mean"], rtol=1e-6)
    assert set(evaluate_hierarchy.active_units(model, X)) == {"z1", "z2", "z"}
    samples = model.sample(5, seed=1)
    assert samples.shape == (5, 12) and np.all((samples >= 0) & (samples <= 1))
    np.testing.assert_array_equal(samples, model.sample(5, seed=1))
    assert not np.allclose(samples, model.sample(5, seed=2))
    noise = given_noise(5)
    out = model.network.walk(model.network.decoder_path(), ops.convert_to_tensor(noise["z"]),
                             WalkContext(given={k: ops.convert_to_tensor(v) for k, v in noise.items()}))
    out = {k: numpy(v) for k, v in out.items()}
    for name in ("z2", "z1"):  # each lower latent from its prior given the layer above
        expected = out[f"{name}_prior_mean"] + np.exp(0.5 * out[f"{name}_prior_log_var"]) * noise[name]
        np.testing.assert_allclose(out[name], expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model._generate(noise), numpy(model.likelihood(out["x_hat"])), rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(variational=False), r"Bottom-up pair \('e1', 'd1'\) holds a Gaussian latent: .* variational=True"),
        (dict(pairing=[("e1", "d2")], encoder=[6, 6], latent_dim=[5, 3]),
         r"Bottom-up pair \('e1', 'd2'\).*its decoder mirror \('d1'\)"),
        (dict(pairing=[{"encoder": "e1", "decoder": "d1", "kind": "bottom_up", "units": 0}], latent_dim=3),
         r"Bottom-up pair \('e1', 'd1'\): `units` must be a positive integer. Received: units=0"),
        (dict(pairing=[{"encoder": "e3", "decoder": "d3", "kind": "bottom_up", "units": 4}], latent_dim=3),
         r"Bottom-up pair \('e3', 'd3'\) is the top latent z: its width is latent_dim's last entry"),
        (dict(latent_dim=[5, 3]), r"`latent_dim` lists one width per stochastic pair.*2 such pairs.*give 3 widths"),
    ],
)
def test_bad_settings_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        hvae(**kwargs)


def test_evaluate_hierarchy_bounds_run_and_the_k1_bound_is_the_elbo_in_expectation():
    model = fixed_weights(hvae(), 0.4)
    x = np.repeat(X[:8], 50, axis=0)
    one = evaluate_hierarchy.iwae_nll(model, x, k=1, verbose=0)
    elbo = evaluate_hierarchy.elbo(model, x)
    assert set(elbo) >= {"neg_elbo", "reconstruction", "kl", "kl_z1", "kl_z2", "kl_z"}
    assert abs(one.mean() - elbo["neg_elbo"]) < 4 * one.std() / np.sqrt(len(x)), (one.mean(), elbo["neg_elbo"])
    fifty = evaluate_hierarchy.iwae_nll(model, X[:8], k=50, verbose=0)
    assert fifty.mean() < one.mean() - 0.1
    np.testing.assert_allclose(evaluate_hierarchy.iwae_nll(model, X[:8], k=50, max_rows=20, verbose=0), fifty,
                               rtol=1e-6)  # chunk-independent
    # Every layer of the bound's pass runs on each sample: z1 is its posterior's draw, not the mean repeated.
    noise = given_noise(3 * 2, seed=4)
    out, _ = hierarchy_lib._pass(model, X[:2], noise)
    z1, mean, log_var = (numpy(out[n]) for n in ("z1", "z1_mean", "z1_log_var"))
    np.testing.assert_allclose(z1, mean + np.exp(0.5 * log_var) * noise["z1"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(mean[:3], np.repeat(mean[:1], 3, axis=0), rtol=1e-5)  # one example, its 3 draws


def test_the_pairing_graph_labels_each_pair(tmp_path):
    fig = plots.pairing_graph(hvae(), path=tmp_path / "pairs.png")
    check_png(fig, tmp_path / "pairs.png")
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {"bottom_up\n5 units", "bottom_up\n4 units", "bottom_up\ntop z"} <= texts
