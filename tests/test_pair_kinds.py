"""Pair kinds: the registry seam, the consistency kind as the default, ties as their own edges."""

import keras
import numpy as np
import pytest
from conftest import gradients
from keras import ops

import ladderae
from ladderae import graph, pair_kinds

X = (np.random.default_rng(0).random((32, 10)) > 0.5).astype("float32")


@ladderae.pair_kind("test_scaled_gap")
class ScaledGap(ladderae.PairKind):
    """A toy kind with a setting of its own and a layer of its own: loss = mean((e - scale * d)^2)."""

    settings = {"gap_weight": "weight"}
    total = "gap"

    def edge_attributes(self, g, e, d, weight=1.0):
        return {"weight": float(weight)}

    def serialize(self, data):
        return {"weight": data["weight"]}

    def make_layers(self, g, e, d, data):
        return {"scale": keras.layers.Dense(g.nodes[d]["units"], use_bias=False, name=f"scale_{e}_{d}")}

    def build_layers(self, g, e, d, layers):
        layers["scale"].build((None, g.nodes[d]["units"]))

    def term_names(self, e, d, data):
        return [f"gap_{e}_{d}"]

    def loss_terms(self, outputs, e, d, data, step):
        value = ops.mean(ops.square(outputs[e] - outputs[f"scaled_{d}"]))
        return {f"gap_{e}_{d}": value}, data["weight"] * value

    def forward(self, network, outputs, e, d, data, context):
        return {f"scaled_{d}": network.pair_layers[f"{e}_{d}"]["scale"](outputs[d])}


def toy_model(**kwargs):
    return ladderae.LadderAE(10, encoder=[6, 4], latent_dim=2, seed=0, pair_kind="test_scaled_gap", **kwargs)


def test_a_registered_kind_trains_reports_its_terms_and_saves(tmp_path):
    model = toy_model(pairing="depths", pairing_options={"depths": [2]}, gap_weight=0.5)
    assert model.term_names[-2:] == ["gap", "gap_e2_d2"]
    assert model.graph.edges["e2", "d2"] == {"kind": "pair", "pair_kind": "test_scaled_gap", "weight": 0.5}
    grads = gradients(model, lambda: model.loss_terms(X, model(X, training=True), 0)["gap_e2_d2"])
    assert np.abs(grads["scale_e2_d2/kernel"]).sum() > 0  # the kind's own layer learns from its loss
    assert np.abs(grads["e1/kernel"]).sum() > 0 and np.abs(grads["x_hat/kernel"]).sum() == 0

    model.compile(optimizer=keras.optimizers.Adam(1e-2))  # a rate at which 8 epochs of 4 steps move the gap
    history = model.fit(X, batch_size=8, epochs=8, verbose=0).history
    assert {"gap", "gap_e2_d2"} <= set(history) and history["gap_e2_d2"][-1] < history["gap_e2_d2"][0]
    model.save(tmp_path / "toy.keras")
    restored = keras.saving.load_model(tmp_path / "toy.keras")
    assert graph.graphs_equal(restored.graph, model.graph)
    np.testing.assert_array_equal(ops.convert_to_numpy(restored.pair_layers["e2_d2"]["scale"].kernel),
                                  ops.convert_to_numpy(model.pair_layers["e2_d2"]["scale"].kernel))


def test_kinds_mix_per_pair_and_each_takes_only_its_own_settings():
    model = ladderae.LadderAE(10, encoder=[6, 4], latent_dim=2, pair_kind=["consistency", "test_scaled_gap"],
                              consistency_weight=0.25, gap_weight=3.0, stop_gradient="encoder")
    assert model.graph.edges["e1", "d1"]["pair_kind"] == "consistency"
    assert model.graph.edges["e1", "d1"]["weight"].value == 0.25
    assert model.graph.edges["e2", "d2"] == {"kind": "pair", "pair_kind": "test_scaled_gap", "weight": 3.0}
    assert model.term_names[-4:] == ["consistency", "gap", "pair_e1_d1", "gap_e2_d2"]


def test_a_tie_without_a_pair_kind_computes_no_pair_loss():
    tied = ladderae.LadderAE(10, encoder=[6, 4], latent_dim=2, seed=0, pair_kind=None, tied_weights=True)
    plain = ladderae.LadderAE(10, encoder=[6, 4], latent_dim=2, seed=0, pairing="none")
    assert tied.pairs == [] and graph.ties(tied.graph) == [("e1", "x_hat"), ("e2", "d1")]
    assert tied.term_names == plain.term_names == ["reconstruction", "kl", "beta", "neg_elbo"]
    assert plain.count_params() - tied.count_params() == 10 * 6 + 6 * 4
    terms = tied.loss_terms(X, tied(X, training=True), 0)
    np.testing.assert_allclose(ops.convert_to_numpy(terms["loss"]),
                               ops.convert_to_numpy(terms["reconstruction"] + terms["kl"]), rtol=1e-6)


def test_ties_and_pairs_round_trip_through_the_config():
    model = ladderae.LadderAE(10, encoder=[6, 4], latent_dim=2, pairing=[
        {"encoder": "e1", "decoder": "d1", "kind": None, "tied": True},
        {"encoder": "e2", "decoder": "d2", "weight": 0.5, "stop_gradient": "local"},
    ])
    assert model.pairs == [("e2", "d2")] and graph.ties(model.graph) == [("e1", "x_hat")]
    restored = ladderae.LadderAE.from_config(model.get_config())
    assert graph.graphs_equal(restored.graph, model.graph)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(pair_kind="lateralish"), "Unknown pair kind 'lateralish' for `pair_kind`.*Known: .*consistency"),
        (dict(pair_kind=["consistency"]), "`pair_kind` has 1 entries but the pairing gives 2 pairs"),
        (dict(pair_kind=None), "kind=None adds nothing"),
        (dict(pairing=[{"encoder": "e1", "decoder": "d1", "kind": "consistency", "lambda": 3}]),
         "pair kind 'consistency' does not take these settings"),
        (dict(pairing=[{"encoder": "e1", "decoder": "d1", "kind": None, "tied": True, "weight": 2}]),
         "no pair kind.*takes no settings"),
        (dict(gap_wieght=2.0), "Unrecognized keyword arguments passed to LadderAE.*gap_wieght"),
    ],
)
def test_bad_kinds_and_settings_name_the_fix(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ladderae.LadderAE(10, encoder=[6, 4], latent_dim=2, **kwargs)


def test_a_taken_kind_name_is_refused_unless_overridden():
    with pytest.raises(ValueError, match="'consistency' is already registered.*override=True"):
        ladderae.pair_kind("consistency")(ScaledGap)
    with pytest.raises(ValueError, match="subclass of ladderae.pair_kinds.PairKind"):
        ladderae.pair_kind("test_not_a_kind")(object)
    original = pair_kinds.get("test_scaled_gap")
    ladderae.pair_kind("test_scaled_gap", override=True)(ScaledGap)
    assert pair_kinds.get("test_scaled_gap") is not original
