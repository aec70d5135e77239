"""The ``consistency`` pair kind: ``weight * loss(e_i, d_i)`` with a stop-gradient mode.

The edge stores ``weight`` (a schedule), ``loss`` (a registered pair loss,
`ladderae.losses`) and ``stop_gradient`` (a registered mode,
`ladderae.stop_gradient`). A pair of weight 0 is reported but trains nothing:
its loss is computed on stopped activations and the mode re-runs nothing.
"""

from keras import ops

from ladderae.nn import losses
from ladderae.nn import schedules
from ladderae.nn import stop_gradient as stop_gradient_lib
from ladderae.pair_kinds.base import PairKind, pair_kind

__all__ = ["Consistency"]


@pair_kind("consistency")
class Consistency(PairKind):
    """A consistency loss between an encoder activation and its mirror decoder activation."""

    settings = {"consistency_weight": "weight", "consistency_loss": "loss", "stop_gradient": "stop_gradient"}
    total = "consistency"

    def edge_attributes(self, graph, encoder, decoder, weight=1.0, loss="mse", stop_gradient="none"):
        losses.get(loss)
        stop_gradient_lib.get(stop_gradient)
        return {"weight": schedules.get(weight, "consistency_weight"), "loss": loss, "stop_gradient": stop_gradient}

    def label(self, data):
        return f"{self.name} · {schedules.describe(data['weight'])} · {data['stop_gradient']}"

    def forward(self, network, outputs, encoder, decoder, data, context):
        if data["weight"].is_zero:  # reported, never trained on: no re-run
            return {}
        return stop_gradient_lib.get(data["stop_gradient"]).rerun(network, outputs, encoder, decoder, context)

    def term_names(self, encoder, decoder, data):
        return [f"pair_{encoder}_{decoder}"]

    def loss_terms(self, outputs, encoder, decoder, data, step):
        loss_fn = losses.get(data["loss"])
        name = f"pair_{encoder}_{decoder}"
        if data["weight"].is_zero:
            return {name: loss_fn(ops.stop_gradient(outputs[encoder]), ops.stop_gradient(outputs[decoder]))}, None
        mode = stop_gradient_lib.get(data["stop_gradient"])
        value = loss_fn(*mode.apply(outputs[encoder], mode.decoder_side(outputs, decoder)))
        return {name: value}, data["weight"](step) * value
