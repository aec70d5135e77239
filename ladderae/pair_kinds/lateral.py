"""The ``lateral`` pair kind: d_i reads e_i through a combinator, and a denoising cost pulls d_i to the clean e_i.

During the walk the decoder node's top-down activation u is replaced by
``g(e_i, u)``, where g is the pair's combinator (`ladderae.combinators`)
and e_i the encoder activation of the same pass (the corrupted one in a
`ladderae.LadderNetwork`). The pair's cost is Rasmus et al.'s denoising cost
``weight * ||z_hat_i - z_i||^2 / width_i`` (batch mean), where z_i is the
clean pass's ``clean/<e_i>`` when the model runs one (else e_i itself) and
z_hat_i is normalised with the clean pass's batch mean and variance
``clean/<e_i>/mean`` and ``clean/<e_i>/var`` when the model records them.

The edge stores ``weight`` (a schedule), ``combinator`` (a registered name)
and ``stop_gradient`` (a registered mode, meaning what it means for a
consistency pair: ``encoder`` makes the clean side, its statistics included,
a fixed target; ``decoder`` the estimate; ``local`` re-runs the layers
between e_i and d_i on stopped copies of e_i, so nothing below e_i learns).
"""

from keras import ops

from ladderae.nn import combinators
from ladderae.nn import schedules
from ladderae.nn import stop_gradient as stop_gradient_lib
from ladderae.nn.normalized import EPSILON
from ladderae.nn.context import COST_ROWS, clean
from ladderae.pair_kinds.base import PairKind, pair_kind

__all__ = ["Lateral"]

@pair_kind("lateral")
class Lateral(PairKind):
    """A lateral connection from e_i into d_i through a combinator, with a denoising cost."""

    unlabelled_rows_only = True
    denoises = True

    settings = {"denoising_weight": "weight", "combinator": "combinator", "stop_gradient": "stop_gradient"}
    total = "denoising"

    def edge_attributes(self, graph, encoder, decoder, weight=1.0, combinator="gauss", stop_gradient="none"):
        e_shape, d_shape = graph.nodes[encoder]["shape"], graph.nodes[decoder]["shape"]
        if e_shape != d_shape:
            raise ValueError(
                f"A lateral pair ({encoder!r}, {decoder!r}) merges two layers unit by unit, but their widths differ "
                f"({e_shape} vs {d_shape}): pair layers of the same width (a mirror pair)."
            )
        combinators.get(combinator)
        stop_gradient_lib.get(stop_gradient)
        return {"weight": schedules.get(weight, "denoising_weight"), "combinator": combinator,
                "stop_gradient": stop_gradient}

    def label(self, data):
        return f"{self.name} · {data['combinator']} · {schedules.describe(data['weight'], 'λ')} · {data['stop_gradient']}"

    def make_layers(self, graph, encoder, decoder, data):
        units = graph.nodes[decoder]["shape"][-1]
        return {"combinator": combinators.get(data["combinator"])(units, name=f"g_{encoder}_{decoder}")}

    def build_layers(self, graph, encoder, decoder, layers):
        layers["combinator"].build((None, *graph.nodes[decoder]["shape"]))

    def merge(self, network, outputs, encoder, decoder, data, context):
        if encoder not in outputs:  # decoding from the top alone: the top-down signal passes on as it is
            return {}
        combine = network.pair_layers[f"{encoder}_{decoder}"]["combinator"]
        return {decoder: combine(outputs[encoder], outputs[decoder])}

    def forward(self, network, outputs, encoder, decoder, data, context):
        mode = stop_gradient_lib.get(data["stop_gradient"])
        if data["weight"].is_zero or not mode.rerun_inner_layers:
            return {}
        # `local`: the lateral connection into d_i reads e_i too, so the re-run sees e_i stopped everywhere.
        stopped = {**outputs, encoder: ops.stop_gradient(outputs[encoder])}
        return mode.rerun(network, stopped, encoder, decoder, context)

    def term_names(self, encoder, decoder, data):
        return [f"denoising_{encoder}_{decoder}"]

    def compared(self, outputs, encoder, decoder, mode):
        """What the cost compares: (clean z, z_hat normalised with the clean batch statistics), stopped per `mode`."""
        target = outputs.get(clean(encoder), outputs[encoder])
        estimate = mode.decoder_side(outputs, decoder)
        mean, var = outputs.get(clean(f"{encoder}/mean")), outputs.get(clean(f"{encoder}/var"))
        if mean is not None:
            if mode.freeze_encoder_side:
                mean, var = ops.stop_gradient(mean), ops.stop_gradient(var)
            estimate = (estimate - mean) / ops.sqrt(var + EPSILON)
        return mode.apply(target, estimate)

    def cost(self, outputs, encoder, decoder, mode):
        """The unweighted denoising cost: mean over units and rows of (normalised z_hat - clean z)^2.

        The rows are those of ``outputs[COST_ROWS]`` when the pass gives it (a
        `ladderae.LadderNetwork` trained on labels: the unlabelled rows, as the
        reference code's decoder sees only those), else all of them.
        """
        target, estimate = self.compared(outputs, encoder, decoder, mode)
        squared = ops.square(estimate - target)
        rows = outputs.get(COST_ROWS)
        if rows is None:
            return ops.mean(squared)
        per_row = ops.mean(ops.reshape(squared, (ops.shape(squared)[0], -1)), axis=1)
        rows = ops.cast(rows, per_row.dtype)
        return ops.sum(rows * per_row) / ops.maximum(ops.sum(rows), 1.0)

    def loss_terms(self, outputs, encoder, decoder, data, step):
        name = f"denoising_{encoder}_{decoder}"
        if data["weight"].is_zero:
            return {name: ops.stop_gradient(self.cost(outputs, encoder, decoder, stop_gradient_lib.get("none")))}, None
        value = self.cost(outputs, encoder, decoder, stop_gradient_lib.get(data["stop_gradient"]))
        return {name: value}, data["weight"](step) * value
