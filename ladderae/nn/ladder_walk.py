"""`LadderNodes`: the layers of a Ladder network's graph and its clean, corrupted and decoder walks.

It is a `ladderae.network.NodeNetwork` whose nodes compute what Rasmus et
al.'s Ladder network computes (so pair kinds and stop-gradient re-runs work
unchanged on it). A node's activation is its batch-normalised pre-activation
z (plus Gaussian noise of its ``noise_std`` in the corrupted pass): that is
what a lateral pair carries and compares. The layer reading it applies the
node's bias beta (and scale gamma, on the classifier) and activation first.

- ``e_i``, ``z``: a `NoisyBatchNorm` layer: W h, normalised with batch
  statistics in training and with the running ones at evaluation, so the two
  never mix. In training the labelled rows and the others are normalised
  apart, each with its own statistics (`part_normalize`), as in the reference
  code. The running statistics follow the clean pass's *unlabelled* rows only
  (`LadderNodes.update_statistics`; a batch without unlabelled rows counts all
  of its rows), which are
  drawn like the digits the model will score; the labelled rows are the same
  few examples again and again. Or they are the exact mean and variance over
  given data (`LadderNodes.set_population_statistics`);
- ``y``: the class probabilities (softmax of the classifier's logits);
- ``z_hat``: the corrupted pass's class probabilities, batch-normalised (per part, as every node);
- ``d_i``, ``x_hat``: V z_hat_{i+1} (a bias-free Dense), batch-normalised:
  the top-down signal u that a lateral pair's combinator merges with e_i.

A pass's `WalkContext` says whether it is corrupted (``corrupted``), draws
its noise (``noise``) and, for a batch of mixed rows, which are labelled
(``labelled``: `LadderNodes.forward`); a batch may come as two parts
instead (`forward_parts`): then
the decoder runs on the unlabelled part alone, the only rows its costs read.
"""

import keras
import numpy as np
from keras import ops

from ladderae.graph import build as graph_lib
from ladderae.graph import ladder as ladder_graph
from ladderae.nn.walk import NodeNetwork
from ladderae.nn.normalized import EPSILON
from ladderae.nn.context import COST_ROWS, clean
from ladderae.nn import activations

__all__ = ["NoisyBatchNorm", "LadderNodes", "SUPERVISED", "batch_normalize", "part_normalize", "masked_moments",
           "pooled_moments"]

# Where a training pass keeps the top activation of the rows that the supervised terms read (corrupted; under
# ``clean/`` the clean one): every row of a mixed batch, the labelled part of a batch given in parts.
SUPERVISED = "supervised"


def batch_normalize(x):
    """x normalised with its own batch mean and variance per unit; also (mean, var)."""
    mean, var = ops.moments(x, axes=[0])
    return (x - mean) / ops.sqrt(var + EPSILON), mean, var


MIN_PART_ROWS = 10  # a part with fewer rows is normalised with the whole batch (one row's variance is 0)


def part_normalize(x, labelled=None):
    """x normalised per part, as the reference code does: the labelled rows (`labelled` 1) with their own batch
    moments, the others with theirs, when each part has `MIN_PART_ROWS` rows or more; else, or when `labelled`
    is None, all rows together. Also (mean, var): per unit when `labelled` is None, else per row (its part's).

    The parts' sums are products with a (rows, 2) part indicator, so a split costs two passes over x, as one
    batch normalisation does.
    """
    if labelled is None:
        return batch_normalize(x)
    labelled = ops.cast(ops.reshape(labelled, (-1, 1)), x.dtype)
    count = ops.sum(labelled)
    split = (count >= MIN_PART_ROWS) & (ops.cast(ops.shape(x)[0], x.dtype) - count >= MIN_PART_ROWS)
    first = ops.where(split, labelled, ops.ones_like(labelled))  # not split: every row in the first part
    parts = ops.concatenate([first, 1 - first], axis=1)  # (rows, 2)
    counts = ops.maximum(ops.sum(parts, axis=0), 1.0)[:, None]
    mean = ops.matmul(parts, ops.matmul(ops.transpose(parts), x) / counts)
    var = ops.matmul(parts, ops.matmul(ops.transpose(parts), ops.square(x - mean)) / counts)
    return (x - mean) / ops.sqrt(var + EPSILON), mean, var


def rows_or_all(rows, dtype):
    """`rows` (one 0/1 per row) as a flat `dtype` mask; every row when none is 1 (a batch without unlabelled rows)."""
    rows = ops.cast(ops.reshape(rows, (-1,)), dtype)
    return ops.where(ops.sum(rows) > 0, rows, ops.ones_like(rows))


def masked_moments(x, rows=None):
    """Per-unit mean and (biased) variance of the rows of x where `rows` (one 0/1 per row) is 1; all rows if none is
    (or `rows` is None)."""
    if rows is None:
        return ops.moments(x, axes=[0])
    rows = ops.reshape(rows_or_all(rows, x.dtype), (-1, 1))
    count = ops.sum(rows)
    mean = ops.sum(rows * x, axis=0) / count
    return mean, ops.sum(rows * ops.square(x - mean), axis=0) / count


def pooled_moments(chunks):
    """Per-unit mean and (biased) variance over the rows of every array in `chunks`, exact whatever their sizes.

    Each chunk's mean and sum of squared deviations, pooled in float64 (Chan et al.'s parallel update).
    """
    count, mean, squares = 0, 0.0, 0.0
    for chunk in chunks:
        n = int(ops.shape(chunk)[0])
        m, v = (np.asarray(ops.convert_to_numpy(t), "float64") for t in ops.moments(chunk, axes=[0]))
        delta = m - mean
        mean = mean + delta * n / (count + n)
        squares = squares + v * n + delta ** 2 * count * n / (count + n)
        count += n
    return mean, squares / count


@keras.saving.register_keras_serializable(package="ladderae")
class NoisyBatchNorm(keras.layers.Layer):
    """W h batch-normalised (batch statistics in training, running ones at evaluation); then beta, gamma, activation.

    `activate` is the part the next layer applies: ``act((z + beta) * gamma)``,
    with gamma only where `scale` (the softmax classifier, as in the paper).
    """

    def __init__(self, units, activation="relu", scale=False, momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        self.units, self.scale, self.momentum = units, scale, momentum
        self.activation = activations.get(activation)
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

    def pre_activation(self, h):
        """W h, before normalisation."""
        return ops.matmul(h, self.kernel)

    def normalize(self, pre):
        """A pre-activation normalised with the running (evaluation) statistics."""
        return (pre - self.moving_mean) / ops.sqrt(self.moving_var + EPSILON)

    def call(self, h, training=False, labelled=None):
        """The normalised pre-activation z; in training also its batch (mean, var) and W h: ``(z, mean, var, pre)``.

        In training, the rows where `labelled` is 1 and the others are normalised apart (`part_normalize`)."""
        pre = self.pre_activation(h)
        if training:
            return (*part_normalize(pre, labelled), pre)
        return self.normalize(pre)

    def update_statistics(self, mean, var):
        """Move the running statistics toward a clean training batch's."""
        self.moving_mean.assign(self.momentum * self.moving_mean + (1 - self.momentum) * mean)
        self.moving_var.assign(self.momentum * self.moving_var + (1 - self.momentum) * var)

    def set_statistics(self, mean, var):
        """Replace the running statistics (e.g. by population ones)."""
        self.moving_mean.assign(ops.cast(mean, self.moving_mean.dtype))
        self.moving_var.assign(ops.cast(var, self.moving_var.dtype))

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
        self._build_pair_layers()

    def _read(self, node, value):
        """What `node`'s layer reads from its flow predecessor's activation `value`."""
        before = graph_lib.flow_predecessor(self.graph, node)
        reads_encoder = self.graph.nodes[before]["role"] in ("encoder", "latent")
        return self.layers[before].activate(value) if reads_encoder else value

    def apply_node(self, node, h, context):
        """One node of a training pass (batch statistics), its rows normalised in the parts ``context.labelled``
        says; in the corrupted pass (``context.corrupted``) with the node's noise added."""
        h = self._read(node, h)
        data = self.graph.nodes[node]
        if node == ladder_graph.PROBABILITIES:
            return {node: h}
        if node == ladder_graph.TOP:
            return {node: part_normalize(h, context.labelled)[0]}
        if data["role"] == "decoder" or node == graph_lib.OUTPUT:
            return {node: part_normalize(self.layers[node](h), context.labelled)[0]}
        z, mean, var, pre = self.layers[node](h, training=True, labelled=context.labelled)
        return {node: self.corrupt(z, data["noise_std"], context) if context.corrupted else z, f"{node}/mean": mean, f"{node}/var": var,
                f"{node}/pre": pre}

    def corrupt(self, value, std, context):
        """`value` plus Gaussian noise of std `std` drawn by `context` (as it is for std 0)."""
        return value + std * context.noise(ops.shape(value)) if std else value

    def corrupt_input(self, x, context):
        """x with the input's own noise (the graph's ``noise_std`` at the input node)."""
        return self.corrupt(x, self.graph.nodes[graph_lib.INPUT]["noise_std"], context)

    def forward(self, x, context):
        """A training pass: clean encoder (``clean/<node>``, with ``clean/<node>/pre``, W h, for
        `update_statistics`), corrupted encoder and decoder (``<node>``), and what each pair kind adds. It leaves
        the running statistics as they are.

        ``context.labelled`` (one 0/1 per row, or None: all rows alike): every batch normalisation of the pass treats the
        labelled rows and the others as two batches, as the reference code does (`part_normalize`). Normalised
        together, the labelled rows (the same few examples again and again, which the classifier soon fits) skew
        the unlabelled rows' statistics: on MNIST with 100 labels, after 300 steps, 31 % test error against 15 %
        apart. The denoising costs then average over the unlabelled rows only (``COST_ROWS``), as the reference
        code's decoder sees only those.
        """
        clean_pass, corrupted_pass = context.replace(corrupted=False), context.replace(corrupted=True)
        out = {clean(key): value for key, value in self.walk(self.encoder_path(), x, clean_pass).items()}
        out[clean(graph_lib.INPUT)] = x
        corrupted = {graph_lib.INPUT: self.corrupt_input(x, context)}
        corrupted.update(self.walk(self.training_path, corrupted[graph_lib.INPUT], corrupted_pass, before=corrupted))
        out.update(corrupted)
        if context.labelled is not None:  # the denoising costs average over the unlabelled rows (all, if none is)
            unlabelled = 1.0 - ops.cast(ops.reshape(context.labelled, (-1,)), x.dtype)
            out[COST_ROWS] = rows_or_all(unlabelled, x.dtype)
        for kind, (e, d, data) in zip(self.kinds, self.pairs):
            out.update(kind.forward(self, out, e, d, data, corrupted_pass))
        out[SUPERVISED], out[clean(SUPERVISED)] = out[graph_lib.LATENT], out[clean(graph_lib.LATENT)]
        return out

    @property
    def trains_parts_apart(self):
        """Whether `forward_parts` computes what `forward` does for a batch of labelled rows, then unlabelled ones:
        every pair is lateral (its cost reads the unlabelled rows only), or there is none."""
        return all(kind.unlabelled_rows_only for kind in self.kinds)

    def forward_parts(self, x_labelled, x_unlabelled, context):
        """A training pass over a batch given as its labelled rows and its unlabelled rows (each at least
        `MIN_PART_ROWS`): `forward` on the unlabelled rows (clean pass, corrupted pass, decoder, pair terms), and
        clean and corrupted encoder passes of the labelled rows, whose top activations are the ``SUPERVISED`` ones.

        Each part is normalised with its own statistics, as `forward` does for a mixed batch, and the decoder,
        whose costs read the unlabelled rows only, runs on those alone: the reference code's layout, and less work.
        """
        out = self.forward(x_unlabelled, context)
        top = graph_lib.LATENT
        clean_top = self.walk(self.encoder_path(), x_labelled, context.replace(corrupted=False))[top]
        corrupted_x = self.corrupt_input(x_labelled, context)
        corrupted_top = self.walk(self.encoder_path(), corrupted_x, context.replace(corrupted=True))[top]
        out[SUPERVISED], out[clean(SUPERVISED)] = corrupted_top, clean_top
        return out

    def update_statistics(self, out):
        """Move each encoder layer's running statistics toward the moments of the training pass `out`'s clean
        pass over its unlabelled rows (``COST_ROWS``; every row of `out` when it does not say)."""
        for node in self.encoder_path():
            self.layers[node].update_statistics(*masked_moments(out[clean(f"{node}/pre")], out.get(COST_ROWS)))

    def set_population_statistics(self, batches):
        """Set each encoder layer's running statistics to the exact mean and variance of its clean pre-activation
        over every row of `batches` (a list of input tensors), layer by layer from the bottom: a layer's inputs are
        normalised with the population statistics just set below it, as at evaluation."""
        for node in self.encoder_path():
            layer = self.layers[node]
            pre = [layer.pre_activation(h) for h in batches]
            layer.set_statistics(*pooled_moments(pre))
            batches = [layer.activate(layer.normalize(p)) for p in pre]

    def logits(self, z):
        """The classifier's logits from the top activation z."""
        return self.layers[graph_lib.LATENT].logits(z)

    def probabilities(self, x):
        """Class probabilities of an evaluation pass: clean, with the running batch-norm statistics."""
        h = x
        for node in self.encoder_path():
            h = self.layers[node].activate(self.layers[node](h))
        return h
