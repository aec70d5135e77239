"""`LadderNodes`: the layers of a Ladder network's graph and its clean, corrupted and decoder walks.

It is a `ladderae.network.NodeNetwork` whose nodes compute what Rasmus et
al.'s Ladder network computes (so pair kinds and stop-gradient re-runs work
unchanged on it). A node's activation is its batch-normalised pre-activation
z (plus Gaussian noise of its ``noise_std`` in the corrupted pass): that is
what a lateral pair carries and compares. The layer reading it applies the
node's bias beta (and scale gamma, on the classifier) and activation first.

- ``e_i``, ``z``: a `NoisyBatchNorm` layer: W h, normalised with the batch's
  statistics in training (the clean pass also updates the running ones) and
  with the running ones at evaluation, so the two never mix;
- ``y``: the class probabilities (softmax of the classifier's logits);
- ``z_hat``: the corrupted pass's class probabilities, batch-normalised;
- ``d_i``, ``x_hat``: V z_hat_{i+1} (a bias-free Dense), batch-normalised:
  the top-down signal u that a lateral pair's combinator merges with e_i.

The walk's ``eps`` is whether the pass is corrupted (True) or clean (False).
"""

import keras
from keras import ops

from ladderae import graph as graph_lib
from ladderae import ladder_graph
from ladderae.network import NodeNetwork
from ladderae.pair_kinds.lateral import EPSILON, clean

__all__ = ["NoisyBatchNorm", "LadderNodes", "batch_normalize"]


def batch_normalize(x):
    """x normalised with its own batch mean and variance per unit; also (mean, var)."""
    mean, var = ops.moments(x, axes=[0])
    return (x - mean) / ops.sqrt(var + EPSILON), mean, var


@keras.saving.register_keras_serializable(package="ladderae")
class NoisyBatchNorm(keras.layers.Layer):
    """W h batch-normalised (batch statistics in training, running ones at evaluation); then beta, gamma, activation.

    `activate` is the part the next layer applies: ``act((z + beta) * gamma)``,
    with gamma only where `scale` (the softmax classifier, as in the paper).
    """

    def __init__(self, units, activation="relu", scale=False, momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        self.units, self.scale, self.momentum = units, scale, momentum
        self.activation = keras.activations.get(activation)
        self._activation_name = activation

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="lecun_normal", name="kernel")
        self.beta = self.add_weight(shape=(self.units,), initializer="zeros", name="beta")
        self.gamma = self.add_weight(shape=(self.units,), initializer="ones", name="gamma") if self.scale else None
        self.moving_mean = self.add_weight(shape=(self.units,), initializer="zeros", trainable=False,
                                           name="moving_mean")
        self.moving_var = self.add_weight(shape=(self.units,), initializer="ones", trainable=False, name="moving_var")
        self.built = True

    def logits(self, z):
        return (z + self.beta) * self.gamma if self.scale else z + self.beta

    def activate(self, z):
        return self.activation(self.logits(z))

    def call(self, h, training=False):
        """The normalised pre-activation z; in training also its batch (mean, var): ``(z, mean, var)``."""
        pre = ops.matmul(h, self.kernel)
        if training:
            return batch_normalize(pre)
        return (pre - self.moving_mean) / ops.sqrt(self.moving_var + EPSILON)

    def update_statistics(self, mean, var):
        """Move the running statistics toward a clean training batch's."""
        self.moving_mean.assign(self.momentum * self.moving_mean + (1 - self.momentum) * mean)
        self.moving_var.assign(self.momentum * self.moving_var + (1 - self.momentum) * var)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self._activation_name,
                "scale": self.scale, "momentum": self.momentum}


class LadderNodes(NodeNetwork):
    """The layers of a Ladder graph (`ladderae.ladder_graph`) and its training and evaluation passes."""

    def __init__(self, graph, momentum=0.99):
        self.momentum = momentum
        order = graph_lib.flow_order(graph)
        paired = [order.index(d) for _, d, _ in graph_lib.pairs(graph)]
        # The corrupted walk stops at the lowest paired decoder node: nothing below it has a cost, so the
        # layers below it are not made (no variable without a gradient).
        self.training_path = order[1 : max(paired, default=order.index(graph_lib.LATENT)) + 1]
        super().__init__(graph)
        self.layers = {node: layer for node, layer in self.layers.items() if layer is not None}

    def _make_layer(self, node):
        data = self.graph.nodes[node]
        if node not in self.training_path:
            return None
        if data["role"] in ("encoder", "latent"):
            return NoisyBatchNorm(data["units"], data["activation"], scale=data["role"] == "latent",
                                  momentum=self.momentum, name=node)
        if node in (ladder_graph.TOP, ladder_graph.PROBABILITIES):
            return None
        return keras.layers.Dense(data["units"], use_bias=False, name=node)

    def build(self):
        for node, layer in self.layers.items():
            layer.build((None, *graph_lib.layer_input_shape(self.graph, node)))
        for kind, (e, d, _) in zip(self.kinds, self.pairs):
            if f"{e}_{d}" in self.pair_layers:
                kind.build_layers(self.graph, e, d, self.pair_layers[f"{e}_{d}"])

    def _read(self, node, value):
        """What `node`'s layer reads from its flow predecessor's activation `value`."""
        before = graph_lib.flow_predecessor(self.graph, node)
        reads_encoder = self.graph.nodes[before]["role"] in ("encoder", "latent")
        return self.layers[before].activate(value) if reads_encoder else value

    def apply_node(self, node, h, eps):
        """One node of a training pass (batch statistics); `eps`: add the node's noise (the corrupted pass)."""
        h = self._read(node, h)
        data = self.graph.nodes[node]
        if node == ladder_graph.PROBABILITIES:
            return {node: h}
        if node == ladder_graph.TOP:
            return {node: batch_normalize(h)[0]}
        if data["role"] == "decoder" or node == graph_lib.OUTPUT:
            return {node: batch_normalize(self.layers[node](h))[0]}
        z, mean, var = self.layers[node](h, training=True)
        return {node: self.corrupt(z, data["noise_std"]) if eps else z, f"{node}/mean": mean, f"{node}/var": var}

    def corrupt(self, value, std):
        return value + std * self.noise(ops.shape(value)) if std else value

    def forward(self, x, eps=None, training=True, update_statistics=True):
        """A training pass: clean encoder (``clean/<node>``, updating the running statistics unless told not
        to), corrupted encoder and decoder (``<node>``), and what each pair kind adds."""
        encoder = self.encoder_path()
        out = {clean(key): value for key, value in self.walk(encoder, x, False).items()}
        out[clean(graph_lib.INPUT)] = x
        for node in encoder if update_statistics else ():
            self.layers[node].update_statistics(out[clean(f"{node}/mean")], out[clean(f"{node}/var")])
        corrupted = {graph_lib.INPUT: self.corrupt(x, self.graph.nodes[graph_lib.INPUT]["noise_std"])}
        corrupted.update(self.walk(self.training_path, corrupted[graph_lib.INPUT], True, context=corrupted))
        out.update(corrupted)
        for kind, (e, d, data) in zip(self.kinds, self.pairs):
            out.update(kind.forward(self, out, e, d, data, True))
        return out

    def logits(self, z):
        """The classifier's logits from the top activation z."""
        return self.layers[graph_lib.LATENT].logits(z)

    def probabilities(self, x):
        """Class probabilities of an evaluation pass: clean, with the running batch-norm statistics."""
        h = x
        for node in self.encoder_path():
            h = self.layers[node].activate(self.layers[node](h))
        return h
