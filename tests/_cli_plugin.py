"""A toy plugin for the CLI tests: a pairing rule, pair kind, pair loss, stop-gradient mode, likelihood and data set.

`ladderae train --plugin tests/_cli_plugin.py` imports it before the command
line is checked, so the names below are valid choices there.
"""

import numpy as np
from keras import ops

import ladderae
from ladderae import data, graph, likelihoods, pair_kinds, stop_gradient


@ladderae.pairing_rule("toy_first_only")
def first_only(g):
    """Only the pair next to the input."""
    first = graph.encoder_nodes(g)[0]
    return [(first, graph.mirror(g, first))]


@ladderae.pair_kind("toy_gap")
class Gap(pair_kinds.PairKind):
    """Reports the mean absolute gap between e_i and d_i, trains nothing."""

    def term_names(self, e, d, data):
        return [f"gap_{e}_{d}"]

    def loss_terms(self, outputs, e, d, data, step):
        return {f"gap_{e}_{d}": ops.stop_gradient(ops.mean(ops.abs(outputs[e] - outputs[d])))}, None


@ladderae.pair_loss("toy_l1")
def l1(encoder_side, decoder_side):
    """Mean absolute difference."""
    return ops.mean(ops.abs(encoder_side - decoder_side))


frozen_encoder = stop_gradient.StopGradientMode("toy_frozen_encoder", True, False, False)  # like `encoder`
stop_gradient.modes.register(frozen_encoder.name)(frozen_encoder)
likelihoods.likelihoods.register("toy_unit_gaussian")(
    lambda **kwargs: likelihoods.GaussianLikelihood(learn_scale=False, **kwargs)
)


@data.data_source("toy_vectors")
def toy_vectors(data_dir):
    """300 standard-normal vectors of width 6 (the CLI splits off its own test rows)."""
    return {"x": np.random.default_rng(0).normal(size=(300, 6)).astype("float32")}
