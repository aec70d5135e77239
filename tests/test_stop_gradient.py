"""Gradient tests: which variables each pair's loss trains, per stop-gradient mode.

Model: x(10) -> e1(6) -> e2(4) -> z(3) -> d2(4) -> d1(6) -> x_hat(10), tanh
(no dead units, so "non-zero" is certain where a path exists).
"""

import numpy as np
import pytest
from conftest import gradients
from keras import ops

import ladderae

LAYERS = ["e1", "e2", "z_mean", "z_log_var", "d2", "d1", "x_hat"]

# The layers whose variables must get a non-zero gradient from the pair's loss.
EXPECTED = {
    ("e1", "d1"): {
        "none": {"e1", "e2", "z_mean", "z_log_var", "d2", "d1"},
        "encoder": {"e1", "e2", "z_mean", "z_log_var", "d2", "d1"},
        "decoder": {"e1"},
        "local": {"e2", "z_mean", "z_log_var", "d2", "d1"},
    },
    ("e2", "d2"): {
        "none": {"e1", "e2", "z_mean", "z_log_var", "d2"},
        "encoder": {"e1", "e2", "z_mean", "z_log_var", "d2"},
        "decoder": {"e1", "e2"},
        "local": {"z_mean", "z_log_var", "d2"},
    },
}

X = np.random.default_rng(0).random((16, 10)).astype("float32")


def make(mode, **kwargs):
    kwargs.setdefault("seed", 7)
    model = ladderae.LadderAE(10, encoder=[6, 4], latent_dim=3, activation="tanh", stop_gradient=mode, **kwargs)
    # Identical weights for every mode: the same draw from a fixed generator.
    rng = np.random.default_rng(1)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


def pair_gradients(model, pair):
    name = f"pair_{pair[0]}_{pair[1]}"
    return gradients(model, lambda: model.loss_terms(X, model(X, training=True), 0)[name])


def layer_of(path):
    return path.split("/")[-2]


@pytest.mark.parametrize("pair", list(EXPECTED))
@pytest.mark.parametrize("mode", ["none", "encoder", "decoder", "local"])
def test_pair_loss_reaches_exactly_the_promised_layers(mode, pair):
    grads = pair_gradients(make(mode), pair)
    reached = {layer_of(path) for path, g in grads.items() if np.abs(g).sum() > 0}
    assert {layer_of(p) for p in grads} == set(LAYERS)
    assert reached == EXPECTED[pair][mode]


@pytest.mark.parametrize("pair", list(EXPECTED))
def test_encoder_and_decoder_modes_split_the_full_gradient(pair):
    """d MSE(a, b) = d MSE(const a, b) + d MSE(a, const b): the two frozen halves add up to `none`."""
    full, enc, dec = (pair_gradients(make(mode), pair) for mode in ("none", "encoder", "decoder"))
    for path in full:
        np.testing.assert_allclose(enc[path] + dec[path], full[path], rtol=1e-4, atol=1e-6)
    assert any(np.abs(enc[p] - full[p]).sum() > 1e-6 for p in full), "the encoder mode must change the gradient"


def test_local_mode_changes_gradients_not_values():
    x = X
    values = {}
    for mode in ("none", "local"):
        model = make(mode)
        out = model(x, training=True)
        values[mode] = ops.convert_to_numpy(model.loss_terms(x, out, 0)["pair_e1_d1"])
        if mode == "local":
            np.testing.assert_allclose(ops.convert_to_numpy(out["d1_local"]), ops.convert_to_numpy(out["d1"]), atol=1e-6)
    np.testing.assert_allclose(values["local"], values["none"], rtol=1e-6)


def test_modes_can_differ_per_pair():
    model = make(["decoder", "local"])
    assert [model.graph.edges[p]["stop_gradient"] for p in model.pairs] == ["decoder", "local"]
    for pair, mode in zip(model.pairs, ["decoder", "local"]):
        grads = pair_gradients(model, pair)
        assert {layer_of(p) for p, g in grads.items() if np.abs(g).sum() > 0} == EXPECTED[pair][mode]


def test_zero_weight_pair_is_reported_but_trains_nothing():
    model = make("local", consistency_weight=0.0)
    out = model(X, training=True)
    assert "d1_local" not in out  # no wasted re-run for a pair that does not train
    grads = pair_gradients(model, ("e1", "d1"))
    assert all(np.abs(g).sum() == 0 for g in grads.values())
    assert float(ops.convert_to_numpy(model.loss_terms(X, out, 0)["pair_e1_d1"])) > 0


def test_unknown_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="stop_gradient.*Known: decoder, encoder, local, none"):
        make("sideways")
