"""`NodeNetwork`: one Keras layer per graph node, and the walk that runs them in flow order.

It is what the graph means as computation: each node's layer reads its flow
predecessor's activation (flattened for a dense layer, reshaped back to the
node's shape after it), the bottleneck samples z with the reparameterisation
trick, a tied decoder layer transposes its tie's encoder kernel, and each pair
kind adds what it computes in a training pass (`forward`) and its own layers.

It is a plain object, not a Keras layer: the model owns its layers (as
``model.node_layers`` and ``model.pair_layers``) so that variable paths and
saved files read ``e1/kernel``, as the graph names them.
"""

import functools
import math

import keras
from keras import ops

from ladderae.graph import build as graph_lib
from ladderae.graph import kinds as kind_registry
from ladderae.nn import activations
from ladderae.nn import losses
from ladderae.nn.layers import Conv2DTransposed, DenseTransposed
from ladderae.nn.normalized import NormalizedDense

__all__ = ["NodeNetwork"]

# (a node's "layer" in the graph, tied to an encoder kernel?) -> the Keras layer that makes the node.
_LAYER_CLASSES = {
    ("dense", False): keras.layers.Dense,
    ("dense", True): DenseTransposed,
    ("conv", False): functools.partial(keras.layers.Conv2D, data_format="channels_last"),
    ("conv_transpose", False): functools.partial(keras.layers.Conv2DTranspose, data_format="channels_last"),
    ("conv_transpose", True): Conv2DTransposed,
}


class NodeNetwork:
    """The layers of a (frozen) graph and the walks through them.

    Attributes: ``order`` (node names in the order their layers run),
    ``pairs`` (``(encoder, decoder, data)`` pair edges), ``layers`` (node ->
    Keras layer; the bottleneck of a VAE: ``{"mean", "log_var"}``) and
    ``pair_layers`` (``"<e>_<d>"`` -> the layers a pair kind adds).
    """

    def __init__(self, graph):
        self.graph = graph
        self.order = graph_lib.flow_order(graph)
        self.pairs = graph_lib.pairs(graph)
        self.kinds = [kind_registry.get(data["pair_kind"]) for _, _, data in self.pairs]
        self.tied_sources = {n: graph_lib.tied_source(graph, n) for n in self.order[1:]}
        self.layers = {node: self._make_layer(node) for node in self.order[1:]}
        self._merges = {}  # node -> (merge method, pair) of each kind that merges into it: its encoder or decoder node
        for kind, pair in zip(self.kinds, self.pairs):
            if kind.merges_encoder:  # on the way up, right after the encoder node
                self._merges.setdefault(pair[0], []).append((kind.merge_encoder, pair))
            if kind.merges:  # on the way down, right after the decoder node
                self._merges.setdefault(pair[1], []).append((kind.merge, pair))
        # The Gaussian latents the pairs hold below the bottleneck z, from the input side (see ladderae.latents).
        self.latents = [name for kind, (e, d, data) in zip(self.kinds, self.pairs)
                        for name in kind.latents(graph, e, d, data)]
        self.pair_layers = {}
        for kind, (e, d, data) in zip(self.kinds, self.pairs):
            made = kind.make_layers(graph, e, d, data)
            if made:
                self.pair_layers[f"{e}_{d}"] = made

    def _make_layer(self, node):
        data = self.graph.nodes[node]
        if data["role"] == "latent":
            if data["variational"]:
                return {"mean": keras.layers.Dense(data["units"], name="z_mean"),
                        "log_var": keras.layers.Dense(data["units"], name="z_log_var")}
            return keras.layers.Dense(data["units"], name="z")
        layer_class = _LAYER_CLASSES[data["layer"], self.tied_sources[node] is not None]
        activation = activations.get(data.get("activation"))
        if data.get("batch_norm") and layer_class is keras.layers.Dense:
            return NormalizedDense(data["units"], activation=activation, name=node)
        if data["layer"] == "dense":
            return layer_class(data["units"], activation=activation, name=node)
        return layer_class(
            data["shape"][-1], data["kernel_size"], strides=data["strides"], padding="same",
            activation=activation, name=node,
        )

    def build(self):
        """Build every layer for the shape its node reads (called from the model's `build`)."""
        for node in self.order[1:]:
            layer = self.layers[node]
            for part in layer.values() if isinstance(layer, dict) else [layer]:
                part.build((None, *graph_lib.layer_input_shape(self.graph, node)))
        self._build_pair_layers()

    def _build_pair_layers(self):
        """Each pair's own layers, built by its kind for the shapes of its ends."""
        for kind, (e, d, _) in zip(self.kinds, self.pairs):
            if f"{e}_{d}" in self.pair_layers:
                kind.build_layers(self.graph, e, d, self.pair_layers[f"{e}_{d}"])

    @property
    def variational(self):
        return self.graph.graph["variational"]

    def encoder_path(self):
        """The nodes from the first encoder layer up to and including the bottleneck."""
        return self.order[1 : self.order.index(graph_lib.LATENT) + 1]

    def decoder_path(self):
        """The nodes after the bottleneck, down to the output."""
        return self.order[self.order.index(graph_lib.LATENT) + 1 :]

    def shared_below(self):
        """The nodes below the bottleneck that no latent's noise reaches: those before the first node a kind merges
        into (a merge may draw noise: a latent on the way up). A walk of k samples per example runs them once and
        repeats their activations (`forward`, `ladderae.evaluate_hierarchy`); the rest runs on every copy."""
        below = self.order[1 : self.order.index(graph_lib.LATENT)]
        return below[: min((below.index(node) for node in self._merges if node in below), default=len(below))]

    def inner_nodes(self, encoder, decoder):
        return graph_lib.inner_nodes(self.graph, encoder, decoder)

    def apply_node(self, node, h, context):
        """Run `node`'s layer on `h`; the named activations it produces.

        A dense layer reads a feature map flattened and reshapes its output to
        its node's shape: the Flatten and Reshape between conv and dense layers.
        The bottleneck of a VAE gives z (its mean when `context` draws no
        noise), ``z_mean`` and ``z_log_var``. ``context.training`` reaches
        layers that behave differently in training (batch normalisation):
        Keras' JAX trainer calls the model's `call` without the call context
        that would pass it down.
        """
        data = self.graph.nodes[node]
        layer = self.layers[node]
        if data["layer"] == "dense" and len(h.shape) > 2:
            h = ops.reshape(h, (-1, math.prod(h.shape[1:])))
        if data["role"] == "latent" and self.variational:
            mean, log_var = layer["mean"](h), layer["log_var"](h)
            noise = context.sample(graph_lib.LATENT, ops.shape(mean))
            z = mean if noise is None else losses.reparameterize(mean, log_var, noise)
            return {node: z, "z_mean": mean, "z_log_var": log_var}
        source = self.tied_sources[node]
        out = layer(h, training=context.training) if source is None else layer(h, kernel=self.layers[source].kernel)
        if data["layer"] == "dense" and len(data["shape"]) > 1:
            out = ops.reshape(out, (-1, *data["shape"]))
        return {node: out}

    def walk(self, nodes, h, context, before=None):
        """Run `nodes` in order from the activation `h` in the pass `context` (a `WalkContext`); every activation
        by name.

        After a pair's decoder node, its kind may `merge` information into it
        (a lateral connection, a latent merged from both sides), and after its
        encoder node `merge_encoder` (a latent sampled on the way up): the
        merge sees this walk's activations over `before` (activations computed
        before the walk, e.g. the encoder side for a re-run of inner layers).
        """
        out = {}
        for node in nodes:
            out.update(self.apply_node(node, h, context))
            for merge, (e, d, data) in self._merges.get(node, ()):
                out.update(merge(self, {**(before or {}), **out}, e, d, data, context))
            h = out[node]
        return out

    def forward(self, h, context, samples=1):
        """The full walk from the input; a training pass adds what each pair kind computes.

        With `samples` > 1 (the ``iwae`` objective's k), z and the layers above
        it run on `samples` copies of the batch, sample-major (z's noise is drawn
        for every copy), while the layers below z run once and their activations are
        repeated: the outputs of running every layer on the repeated batch
        (batch statistics of a repeated batch are its own), with the encoder's
        work and its gradients done once instead of k times. Only the layers
        that no noise reaches run once (`shared_below`): from the first node a
        kind merges into on the way up (a latent below z), every copy runs.
        """
        if samples > 1:
            below = self.shared_below()
            once = self.walk(below, h, context)
            out = {name: ops.concatenate([value] * samples, axis=0) for name, value in once.items()}
            h = out[below[-1]] if below else ops.concatenate([h] * samples, axis=0)
            out.update(self.walk(self.order[len(below) + 1 :], h, context, before=out))
        else:
            out = self.walk(self.order[1:], h, context)
        if context.training:
            for kind, (e, d, data) in zip(self.kinds, self.pairs):
                out.update(kind.forward(self, out, e, d, data, context))
        return out

    def pair_terms(self, outputs, step):
        """Every pair's reported terms, plus each kind's weighted total (``consistency``) and their sum."""
        terms, totals, loss = {}, {}, None
        for kind, (e, d, data) in zip(self.kinds, self.pairs):
            reported, weighted = kind.loss_terms(outputs, e, d, data, step)
            terms.update(reported)
            if kind.total is not None:
                totals.setdefault(kind.total, None)
            if weighted is not None:
                if kind.total is not None:
                    totals[kind.total] = weighted if totals[kind.total] is None else totals[kind.total] + weighted
                loss = weighted if loss is None else loss + weighted
        return terms, totals, loss

    def term_names(self):
        """Names of the pair terms `pair_terms` reports: each kind's total, then each pair's own terms."""
        totals = list(dict.fromkeys(kind.total for kind in self.kinds if kind.total is not None))
        return totals + [name for kind, (e, d, data) in zip(self.kinds, self.pairs)
                         for name in kind.term_names(e, d, data)]
