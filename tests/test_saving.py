"""Save and load: same predictions, same graph, any pairing (custom rules included), safe mode."""

import keras
import numpy as np
import pytest
from conftest import compile_and_fit, numpy, uniform

import ladderae
from ladderae import graph

X = uniform((20, 12))

SPECS = {
    "mirror_local_warmup": dict(stop_gradient="local", beta=ladderae.LinearWarmup(5)),
    "depths_normalized": dict(pairing="depths", pairing_options={"depths": [2]}, consistency_loss="normalized_mse"),
    "per_pair_tied": dict(stop_gradient=["encoder", "decoder"], tied_weights=[True, False],
                          consistency_weight=[ladderae.Cyclical(4), 0.5]),
    "deterministic_gaussian": dict(variational=False, likelihood="gaussian", pairing="none"),
    "shaped_input": dict(input_shape=(3, 4), free_bits=0.1),
}


def build(spec):
    args = dict(encoder=[8, 6], latent_dim=3, seed=1) | SPECS[spec]
    if "input_shape" not in args:
        args["input_dim"] = 12
    return ladderae.LadderAE(**args)


@pytest.mark.parametrize("spec", list(SPECS))
def test_round_trip_keeps_predictions_graph_and_config(spec, tmp_path):
    model = build(spec)
    x = X.reshape((-1, *model.graph.graph["input_shape"]))
    compile_and_fit(model, x, batch_size=10)  # 2 steps
    model.save(tmp_path / "m.keras")
    restored = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)

    assert type(restored) is ladderae.LadderAE
    assert graph.graphs_equal(restored.graph, model.graph)
    assert restored.get_config() == model.get_config()
    np.testing.assert_array_equal(restored.reconstruct(x), model.reconstruct(x))
    # The sampling noise state is saved too: the next stochastic pass matches as well.
    for key in ("reconstruction", "z"):
        np.testing.assert_array_equal(numpy(restored(x)[key]), numpy(model(x)[key]))
    # And it trains on: every weight moves, and the step count (which schedules read) goes on from 2.
    before = [numpy(v) for v in restored.trainable_variables]
    compile_and_fit(restored, x, batch_size=10)
    assert int(numpy(restored.step_counter)) == 4
    for variable, start in zip(restored.trainable_variables, before):
        assert not np.allclose(numpy(variable), start), variable.path


def test_a_model_from_an_unregistered_callable_rule_still_loads(tmp_path):
    model = ladderae.LadderAE(12, encoder=[8, 6], latent_dim=3, pairing=lambda g: [("e2", "d2")])
    model.save(tmp_path / "m.keras")
    assert keras.saving.load_model(tmp_path / "m.keras").pairs == [("e2", "d2")]


def test_from_config_rebuilds_an_equal_graph():
    model = build("per_pair_tied")
    clone = ladderae.LadderAE.from_config(model.get_config())
    assert graph.graphs_equal(clone.graph, model.graph)
    assert clone.graph.edges["e1", "d1"]["weight"] == ladderae.Cyclical(4)
