"""Stochastic pairs: a hierarchy of Gaussian latents merged at each encoder/decoder pair (the Ladder VAE)."""

import keras
import numpy as np
import pytest
from conftest import bits, fixed_weights, gradients, numpy, trained_and_reloaded
from keras import ops

import ladderae
from ladderae.nn.context import WalkContext
from ladderae import evaluate, evaluate_hierarchy, latents

X = bits((64, 12))


def lvae(**kwargs):
    """Three stochastic pairs: z1 (5) at e1/d1, z2 (4) at e2/d2, the top z (3) at e3/d3."""
    return ladderae.LadderAE(12, **(dict(encoder=[10, 8, 6], latent_dim=[5, 4, 3], pair_kind="stochastic", seed=0)
                                    | kwargs))


def test_the_merge_is_the_precision_weighted_product_numpy_computes():
    rng = np.random.default_rng(0)
    mu_hat, lv_hat, mu_p, lv_p = (rng.normal(0, 2, (4, 3)).astype("float32") for _ in range(4))
    mean, log_var = (numpy(v) for v in latents.precision_weighted(mu_hat, lv_hat, mu_p, lv_p))
    var_q = 1.0 / (np.exp(-lv_hat) + np.exp(-lv_p))
    np.testing.assert_allclose(np.exp(log_var), var_q, rtol=1e-5)
    np.testing.assert_allclose(mean, (mu_hat * np.exp(-lv_hat) + mu_p * np.exp(-lv_p)) * var_q, rtol=1e-4, atol=1e-5)


def test_the_model_merges_bottom_up_with_top_down_and_decodes_from_the_prior_alone():
    model = fixed_weights(lvae(), 0.5)
    out = {k: numpy(v) for k, v in model.network.walk(model.network.order[1:], model._flatten(X), WalkContext()).items()}
    layers = model.pair_layers["e1_d1"]
    mu_hat, lv_hat = np.split(numpy(layers["posterior"](out["e1"])), 2, axis=-1)  # one product: [mean | log_var]
    expected = latents.precision_weighted(mu_hat, lv_hat, out["z1_prior_mean"], out["z1_prior_log_var"])
    np.testing.assert_allclose(out["z1_mean"], numpy(expected[0]), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out["z1"], out["z1_mean"])  # a deterministic pass continues with the mean
    top_only = model.network.walk(model.network.decoder_path(), out["z"], WalkContext())
    np.testing.assert_array_equal(numpy(top_only["z1"]), numpy(top_only["z1_prior_mean"]))


def test_declared_from_lists_with_kl_per_layer_in_history():
    model = lvae()
    assert model.network.latents == ["z1", "z2"] and model.latent_dim == 3
    assert [data.get("units") for *_, data in model.network.pairs] == [5, 4, None]
    assert model.term_names[-3:] == ["kl_z1", "kl_z2", "kl_z"]
    assert model.pair_layers["e1_d1"]["up"].units == 10  # z1 (5) back to d1's width
    model.compile(optimizer="adam")
    history = model.fit(X, batch_size=16, epochs=2, verbose=0).history
    for name in ("kl_z1", "kl_z2", "kl_z"):
        assert np.all(np.isfinite(history[name])) and history[name][-1] > 0
    total = sum(np.array(history[f"kl_{n}"]) for n in ("z1", "z2", "z"))
    np.testing.assert_allclose(history["kl"], total, rtol=1e-5)


def test_the_hierarchical_kl_matches_a_monte_carlo_estimate():
    model = fixed_weights(lvae(), 0.4)
    rows = np.repeat(X[:4], 4000, axis=0)
    out = model(rows)
    terms = model.loss_terms(rows, out, 0)
    out = {k: numpy(v) for k, v in out.items()}
    log_ratio = numpy(latents.log_ratio(model.network, out))  # log p(z) - log q(z | x) at the sampled z
    mc = -log_ratio.mean()
    analytic = float(numpy(terms["kl"]))
    assert abs(mc - analytic) < 4 * log_ratio.std() / np.sqrt(len(rows)), (mc, analytic)


def test_free_bits_per_layer_floor_only_the_loss_and_beta_warms_up():
    model = lvae(free_bits=[0.0, 5.0, 0.0], beta=ladderae.LinearWarmup(10))
    terms = {k: float(numpy(v)) for k, v in model.loss_terms(X, model(X), 5).items()}
    assert terms["beta"] == pytest.approx(0.5)
    floored = terms["kl_z1"] + 4 * 5.0 + terms["kl_z"]  # z2's 4 units each count at least 5 nats in the loss
    assert terms["loss"] == pytest.approx(terms["reconstruction"] + 0.5 * floored, rel=1e-5)
    assert terms["neg_elbo"] == pytest.approx(terms["reconstruction"] + terms["kl"], rel=1e-6)


def test_gradients_reach_every_layer():
    model = fixed_weights(lvae(), 0.3)
    grads = gradients(model, lambda: model.loss_terms(X, model(X, training=True), 0)["loss"])
    assert set(grads) >= {f"z1_{p}/kernel" for p in ("posterior", "prior", "up")}
    assert [name for name, g in grads.items() if not np.abs(g).sum() > 0] == []


def test_iwae_bound_with_k_1_is_the_elbo_in_expectation_and_tightens_with_k():
    model = fixed_weights(lvae(), 0.4)
    x = np.repeat(X[:8], 50, axis=0)
    one = evaluate_hierarchy.iwae_nll(model, x, k=1, verbose=0)
    neg_elbo = evaluate_hierarchy.elbo(model, x)["neg_elbo"]
    assert abs(one.mean() - neg_elbo) < 4 * one.std() / np.sqrt(len(x)), (one.mean(), neg_elbo)
    fifty = evaluate_hierarchy.iwae_nll(model, X[:8], k=50, verbose=0)
    assert fifty.mean() < one.mean() - 0.1


def test_iwae_bound_is_chunk_independent_and_agrees_with_evaluate_for_one_latent():
    model = fixed_weights(lvae(), 0.4)
    whole = evaluate_hierarchy.iwae_nll(model, X[:6], k=20, verbose=0)
    np.testing.assert_allclose(evaluate_hierarchy.iwae_nll(model, X[:6], k=20, max_rows=20, verbose=0), whole,
                               rtol=1e-6)
    flat = fixed_weights(ladderae.LadderAE(12, encoder=[10], latent_dim=3, pairing="none", seed=0), 0.4)
    np.testing.assert_allclose(evaluate_hierarchy.iwae_nll(flat, X[:6], k=20, verbose=0),
                               evaluate.iwae_nll(flat, X[:6], k=20, verbose=0), rtol=1e-5)


def test_encode_active_units_and_top_down_sampling():
    model = fixed_weights(lvae(), 0.5)
    codes = model.encode(X)
    assert {k: v.shape for k, v in codes.items()} == {"z1": (64, 5), "z2": (64, 4), "z": (64, 3)}
    assert set(evaluate_hierarchy.active_units(model, X)) == {"z1", "z2", "z"}
    assert model.reconstruct(X).shape == (64, 12) and model.sample(5, seed=1).shape == (5, 12)
    np.testing.assert_array_equal(model.sample(5, seed=1), model.sample(5, seed=1))
    # Changing only the top latent changes every lower prior: generation runs top down.
    tops = np.zeros((2, 3), "float32"), np.ones((2, 3), "float32")
    priors = [model.network.walk(model.network.decoder_path(), keras.ops.convert_to_tensor(z), WalkContext()) for z in tops]
    for name in ("z2", "z1"):
        assert not np.allclose(numpy(priors[0][f"{name}_prior_mean"]), numpy(priors[1][f"{name}_prior_mean"]))


def test_mixes_with_consistency_pairs_and_saves_identically(tmp_path):
    model = lvae(pair_kind=["stochastic", "consistency", "stochastic"], latent_dim=[5, 3])
    assert model.network.latents == ["z1"] and "pair_e2_d2" in model.term_names
    restored = trained_and_reloaded(model, X, tmp_path / "lvae.keras")
    for name, codes in model.encode(X).items():
        np.testing.assert_array_equal(restored.encode(X)[name], codes)
    np.testing.assert_array_equal(restored.sample(4, seed=2), model.sample(4, seed=2))


def test_batch_norm_and_ties_train_save_and_evaluate_with_moving_statistics(tmp_path):
    model = lvae(batch_norm=True, tied_weights=True)
    layers = model.node_layers
    assert [type(layers[n]).__name__ for n in ("e1", "e2", "e3", "d3", "d2", "d1", "x_hat")] == [
        "NormalizedDense"] * 4 + ["DenseTransposed"] * 3  # d3 reads z; the layers after d3, d2, d1 are tied
    before = numpy(layers["e1"].norm.moving_mean)
    model.compile(optimizer="adam")
    model.fit(X, batch_size=16, epochs=1, verbose=0)
    assert not np.allclose(numpy(layers["e1"].norm.moving_mean), before)  # training updated the moving averages
    train_pass, eval_pass = numpy(model(X, training=True)["e1"]), numpy(model(X)["e1"])
    assert not np.allclose(train_pass, eval_pass)  # batch statistics in training, moving averages otherwise
    model.save(tmp_path / "bn.keras")
    restored = keras.saving.load_model(tmp_path / "bn.keras")
    np.testing.assert_array_equal(restored.reconstruct(X), model.reconstruct(X))


def test_one_latent_scores_refuse_a_hierarchy_by_name():
    with pytest.raises(ValueError, match="needs every latent layer.*ladderae.evaluate_hierarchy"):
        evaluate.iwae_nll(lvae(), X[:4], k=2, verbose=0)


def test_the_iwae_objective_and_a_conv_pair_train_a_hierarchy():
    model = lvae(objective="iwae", k=3)
    model.compile(optimizer="adam")
    history = model.fit(X, batch_size=16, epochs=1, verbose=0).history
    assert history["neg_iwae"][-1] <= history["neg_elbo"][-1] and history["kl_z1"][-1] > 0
    images = bits((16, 8, 8, 1))
    conv = ladderae.LadderAE(input_shape=(8, 8, 1), conv=[4], encoder=[6], latent_dim=[5, 3], pair_kind="stochastic")
    assert conv.network.latents == ["z1"] and conv.reconstruct(images).shape == (16, 8, 8, 1)  # z1 reads 4x4x4


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(latent_dim=[5, 3]), r"`latent_dim` lists one width per stochastic pair.*2 such pairs.*give 3 widths"),
        (dict(latent_dim=3), r"`latent_dim` lists one width per stochastic pair.*give 3 widths"),
        (dict(latent_dim=[5, 0, 3]), r"`latent_dim` must be a positive integer or a non-empty list"),
        (dict(pair_kind="consistency"), r"`latent_dim` lists one width.*0 such pairs.*or one int"),
        (dict(pairing=[("e1", "d2")], encoder=[6, 6], latent_dim=[5, 3]),
         r"Stochastic pair \('e1', 'd2'\).*its decoder mirror \('d1'\)"),
        (dict(variational=False), r"holds a Gaussian latent: build the model with variational=True"),
        (dict(free_bits=[0.1, -0.5, 0.0]), r"`free_bits` must be .* one per latent layer \(3 here.*free_bits\[1\]=-0.5"),
        (dict(free_bits=[0.1, 0.0]), r"`free_bits` must be .*\(3 here, the top last\). Received: 2 entries"),
        (dict(batch_norm="yes"), r"`batch_norm`"),
    ],
)
def test_bad_hierarchies_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lvae(**kwargs)


def test_layer_variation_draws_a_row_per_layer_each_varying(tmp_path):
    from conftest import check_png

    from ladderae import hierarchy_plots

    model = fixed_weights(ladderae.LadderAE(16, encoder=[10, 8, 6], latent_dim=[5, 4, 3], pair_kind="stochastic",
                                            seed=0), 0.5)
    fig = hierarchy_plots.layer_variation(model, bits((3, 16)), n=4, path=tmp_path / "layers.png")
    check_png(fig, tmp_path / "layers.png")
    tiles = fig.axes[0].images[0].get_array().filled(np.nan)  # 3 rows of 4 tiles of 4x4 pixels, 1-pixel gutters
    rows = [[tiles[r * 5 : r * 5 + 4, c * 5 : c * 5 + 4] for c in range(4)] for r in range(3)]
    assert all(not np.allclose(row[0], row[1]) for row in rows)  # every layer's draw changes the picture
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["z", "z2", "z1"]
    with pytest.raises(ValueError, match="layer_variation draws a hierarchy"):
        hierarchy_plots.layer_variation(ladderae.LadderAE(16, encoder=[4], latent_dim=2), bits((1, 16)))


def test_prior_variation_redraws_one_layer_per_row_under_a_fixed_draw_of_the_layers_above(tmp_path):
    from conftest import check_png

    from ladderae import hierarchy_plots

    model = fixed_weights(ladderae.LadderAE(16, encoder=[10, 8, 6], latent_dim=[5, 4, 3], pair_kind="stochastic",
                                            seed=0), 0.5)
    fig = hierarchy_plots.prior_variation(model, n=4, seed=3, path=tmp_path / "prior.png")
    check_png(fig, tmp_path / "prior.png")
    tiles = fig.axes[0].images[0].get_array().filled(np.nan)  # 3 rows of 4 tiles of 4x4 pixels, 1-pixel gutters
    rows = [[tiles[r * 5 : r * 5 + 4, c * 5 : c * 5 + 4] for c in range(4)] for r in range(3)]
    assert all(not np.allclose(row[0], row[1]) for row in rows)  # every layer's draw changes the picture
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["z", "z2", "z1"]
    again = hierarchy_plots.prior_variation(model, n=4, seed=3).axes[0].images[0].get_array().filled(np.nan)
    np.testing.assert_array_equal(again, tiles)  # a seed fixes every draw
    # Row z2, by hand: the kept draw of z above it (the seed's first draws, one per layer from the top), z2 redrawn
    # per column, z1 at its prior mean (zero noise).
    rng = np.random.default_rng(3)
    kept = {name: rng.standard_normal((1, width), dtype="float32") for name, width in (("z", 3), ("z2", 4), ("z1", 5))}
    rng.standard_normal((4, 3), dtype="float32")  # row z's draws
    noise = {"z": np.repeat(kept["z"], 4, axis=0), "z2": rng.standard_normal((4, 4), dtype="float32"),
             "z1": np.zeros((4, 5), "float32")}
    out = model.network.walk(model.network.decoder_path(), ops.convert_to_tensor(noise["z"]),
                             WalkContext(given={k: ops.convert_to_tensor(v) for k, v in noise.items()}))
    expected = ops.convert_to_numpy(model.likelihood(out["x_hat"])).reshape(4, 4, 4)
    np.testing.assert_allclose(np.stack(rows[1]), expected, atol=1e-6)
    with pytest.raises(ValueError, match="prior_variation draws a hierarchy"):
        hierarchy_plots.prior_variation(ladderae.LadderAE(16, encoder=[4], latent_dim=2))
