"""Gradient tests: which variables each pair's loss trains, per stop-gradient mode.

Model: x(10) -> e1(6) -> e2(4) -> z(3) -> d2(4) -> d1(6) -> x_hat(10), tanh
(no dead units, so "non-zero" is certain where a path exists). The checks are
tests/_gradient_table.py's, shared with the conv model of tests/test_conv.py.
"""

import numpy as np
import pytest
from _gradient_table import GradientTable
from conftest import fixed_weights, numpy, tiny_model, uniform

X = uniform((16, 10))


def make(mode, **kwargs):
    """The same weights for every mode: the same draw from a fixed generator."""
    model = tiny_model(10, encoder=[6, 4], latent_dim=3, activation="tanh", stop_gradient=mode, seed=7, **kwargs)
    return fixed_weights(model, 0.5)


DENSE = GradientTable(
    build=make,
    x=X,
    layers=frozenset({"e1", "e2", "z_mean", "z_log_var", "d2", "d1", "x_hat"}),
    expected={  # the layers whose variables must get a non-zero gradient from the pair's loss; all others exactly zero
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
    },
)


@pytest.mark.parametrize("pair, mode", DENSE.cases())
def test_pair_loss_reaches_exactly_the_promised_layers(pair, mode):
    DENSE.check_reach(make(mode), pair, mode)


@pytest.mark.parametrize("pair", DENSE.pairs())
def test_encoder_and_decoder_modes_split_the_full_gradient(pair):
    DENSE.check_split(pair)


def test_local_mode_changes_gradients_not_values():
    values = {}
    for mode in ("none", "local"):
        model = make(mode)
        out = model(X, training=True)
        values[mode] = numpy(model.loss_terms(X, out, 0)["pair_e1_d1"])
        if mode == "local":
            np.testing.assert_allclose(numpy(out["d1_local"]), numpy(out["d1"]), atol=1e-6)
    np.testing.assert_allclose(values["local"], values["none"], rtol=1e-6)


def test_modes_can_differ_per_pair():
    model = make(["decoder", "local"])
    assert [model.graph.edges[p]["stop_gradient"] for p in model.pairs] == ["decoder", "local"]
    for pair, mode in zip(model.pairs, ["decoder", "local"]):
        DENSE.check_reach(model, pair, mode)


def test_zero_weight_pair_is_reported_but_trains_nothing():
    model = make("local", consistency_weight=0.0)
    out = model(X, training=True)
    assert "d1_local" not in out  # no wasted re-run for a pair that does not train
    grads = DENSE.pair_gradients(model, ("e1", "d1"))
    assert all(np.abs(g).sum() == 0 for g in grads.values())
    assert float(numpy(model.loss_terms(X, out, 0)["pair_e1_d1"])) > 0


def test_unknown_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="stop_gradient.*Known: decoder, encoder, local, none"):
        make("sideways")
