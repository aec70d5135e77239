"""`LadderNetwork`: Rasmus et al.'s semi-supervised Ladder network, as a Keras model built from its graph.

The graph (`ladderae.ladder_graph`) is the architecture, `ladderae.ladder_network`
its layers and passes, the pair kinds (``lateral`` by default) its lateral
connections and denoising costs. Training minimises the supervised
cross-entropy of the corrupted pass on the labelled rows (label >= 0) plus
every pair's weighted cost; predictions come from the clean pass with the
evaluation batch-norm statistics: running averages over the clean pass's
unlabelled rows, or population statistics over given data
(`LadderNetwork.recompute_statistics`).

>>> import numpy as np, ladderae
>>> model = ladderae.LadderNetwork(8, encoder=[6], n_classes=2, denoising_weight=[1.0, 0.1, 0.1], seed=0)
>>> model.pairs
[('x', 'x_hat'), ('e1', 'd1'), ('z', 'z_hat')]
>>> model.term_names
['cross_entropy', 'accuracy', 'error', 'denoising', 'denoising_x_x_hat', 'denoising_e1_d1', 'denoising_z_z_hat']
"""

import keras
import numpy as np
from keras import ops

from ladderae import checks
from ladderae.data import semi_supervised as ladder_data
from ladderae.graph import kinds as kind_registry
from ladderae.graph import ladder as ladder_graph
from ladderae.graph import pairing as pairing_lib
from ladderae.nn import activations
from ladderae.nn import schedules
from ladderae.nn import stop_gradient as stop_gradient_lib
from ladderae.graph import build as graph_lib
from ladderae.models.base import GraphModel
from ladderae.nn.ladder_walk import MIN_PART_ROWS, SUPERVISED, LadderNodes
from ladderae.nn.context import WalkContext, clean

__all__ = ["LadderNetwork"]

SUPERVISED_TERMS = ("cross_entropy", "accuracy", "error")
WEIGHTS = ("denoising_weight", "consistency_weight")  # schedules, saved by their config


@keras.saving.register_keras_serializable(package="ladderae")
class LadderNetwork(GraphModel):
    """A semi-supervised classifier with a denoising decoder joined to its encoder by lateral pairs.

    Parameters
    ----------
    input_dim : int
        Size of one (flattened) example, e.g. 784.
    encoder : list of int
        Widths of the hidden layers e1..eL (paper: 1000, 500, 250, 250, 250).
    n_classes : int
        Width of the softmax classifier z on top.
    pairing : str or list
        ``"all"`` (a pair at every depth, input and classifier included),
        ``"top"`` (the Gamma-model), None (no decoder: supervised with noise),
        or a list of depths (0: (x, x_hat); L+1: (z, z_hat)) or node pairs.
    pair_kind : str or list of str
        The registered pair kind of each pair: ``"lateral"`` (the ladder) or
        ``"consistency"`` (a plain decoder with a loss per pair).
    denoising_weight : float or list
        lambda of each lateral pair, one for all or one per pair from the input
        side (paper, 100 labels: 1000, 10, 0.1, 0.1, 0.1, 0.1, 0.1).
    combinator : str or list of str
        The registered combinator of each lateral pair (``"gauss"``, ``"amlp"``).
    stop_gradient : str or list of str
        A stop-gradient mode per pair (``"none"``, as in the paper).
    consistency_weight : float or list
        Weight of each consistency pair.
    noise_std : float or list
        Std of the corrupted pass's Gaussian noise, one for all or one per
        depth (input, hidden layers, classifier); 0 for no noise.
    activation : str
        Of the hidden layers.
    momentum : float
        Of the batch-norm running statistics used at evaluation (averages of
        the clean pass's unlabelled rows; `recompute_statistics` replaces them
        by exact ones).
    seed : int or None
        Seed of the corruption noise.
    """

    def __init__(self, input_dim, *, encoder=(1000, 500, 250, 250, 250), n_classes=10, pairing="all",
                 pair_kind="lateral", denoising_weight=1.0, combinator="gauss", stop_gradient="none",
                 consistency_weight=1.0, noise_std=0.3, activation="relu", momentum=0.99, seed=None, **kwargs):
        super().__init__(**kwargs)
        input_dim = checks.check_positive_int("input_dim", input_dim)
        n_classes = checks.check_positive_int("n_classes", n_classes)
        if n_classes < 2:
            raise ValueError(f"`n_classes` must be at least 2. Received: n_classes={n_classes}")
        activations.get(activation)
        if not (checks.is_number(momentum) and 0 <= momentum < 1):
            raise ValueError(f"`momentum` must be in [0, 1) (Keras' BatchNormalization: 0.99). Received: {momentum!r}")
        g = ladder_graph.build_ladder_graph(input_dim, encoder, n_classes, noise_std=noise_std, activation=activation)
        rule, options = ladder_graph.ladder_pairing(g, pairing)
        found = pairing_lib.pair_arguments(g, rule, pairing_options=options, pair_kind=pair_kind,
                                           denoising_weight=denoising_weight, combinator=combinator,
                                           stop_gradient=stop_gradient, consistency_weight=consistency_weight)
        for kind in found["pair_kind"]:  # no weight ties here: every pair needs a registered kind (not None)
            if kind_registry.get(kind).holds_latents:
                takes = " or ".join(map(repr, kind_registry.ladder_pair_kinds()))
                raise graph_lib.GraphError(f"`pair_kind` {kind!r} holds a Gaussian latent, whose KL term a "
                                           f"LadderNetwork does not count: use {takes}, or a LadderAE with "
                                           "variational=True for a hierarchy of latents.")
        pairing_lib.add_pairs(g, found)
        weights = {key: [schedules.serialize(schedules.get(w, key)) for w in found[key]] for key in WEIGHTS}
        self._set_up(g, LadderNodes(g, momentum=momentum), seed, {
            "input_dim": input_dim, "encoder": list(encoder), "n_classes": n_classes,
            "pairing": [[p["encoder"], p["decoder"]] for p in found["pairs"]], "pair_kind": found["pair_kind"],
            "denoising_weight": weights["denoising_weight"], "combinator": found["combinator"],
            "stop_gradient": found["stop_gradient"], "consistency_weight": weights["consistency_weight"],
            "noise_std": [g.nodes[n]["noise_std"] for n in g if "noise_std" in g.nodes[n]],
            "activation": activation, "momentum": momentum, "seed": seed,
        })
        self.build((None, input_dim))

    @property
    def n_classes(self):
        return self._graph.graph["n_classes"]

    @property
    def term_names(self):
        """Metrics besides ``loss``: supervised cross-entropy, accuracy and error, then the pair terms."""
        return list(SUPERVISED_TERMS) + self.network.term_names()

    # --------------------------------------------------------------- forward

    def _flatten(self, inputs):
        width = self._graph.nodes[graph_lib.INPUT]["units"]
        if int(np.prod(inputs.shape[1:])) != width:
            raise ValueError(f"{self.name} takes examples of {width} values. Received: x with shape "
                             f"{tuple(inputs.shape)}.")
        return ops.reshape(ops.cast(inputs, self.compute_dtype), (-1, width))

    def call(self, inputs, training=False):
        """Class probabilities (clean pass, evaluation statistics); in training, every activation by name.

        `inputs` is x, or what `fit` passes: (x, labels), whose training pass
        normalises the labelled rows (label >= 0) and the others apart, or a
        batch in parts, ``{"labelled": x_l, "unlabelled": x_u}``
        (`LadderNodes.forward_parts`: the decoder runs on x_u alone).
        """
        if isinstance(inputs, dict):
            parts = [self._flatten(inputs[part]) for part in ladder_data.PARTS]
            if training:
                return self.network.forward_parts(*parts, self._training_context())
            return self.network.probabilities(ops.concatenate(parts))
        inputs, labels = inputs if isinstance(inputs, (tuple, list)) else (inputs, None)
        x = self._flatten(inputs)
        if training:
            labelled = None if labels is None else ops.reshape(labels, (-1,)) >= 0
            return self.network.forward(x, self._training_context(labelled))
        return self.network.probabilities(x)

    def _training_context(self, labelled=None):
        """A training pass's `WalkContext`: noise from the seed generator, `labelled` rows normalised apart."""
        return WalkContext(training=True, noise=self._noise, labelled=labelled)

    def denoised(self, x):
        """Per lateral pair (e, d): the clean z and the denoised z_hat of one training pass over `x`, as NumPy.

        z_hat is normalised with the clean batch's statistics: the two arrays
        are what the pair's denoising cost compares (`ladderae.ladder_plots`
        draws them). The pass draws its noise from the model's generator, as a
        training step does, and leaves the running statistics as they are.
        """
        x = self._flatten(ops.convert_to_tensor(self._check_x(x, "denoised")))
        outputs = self.network.forward(x, self._training_context())
        found = {}
        for kind, (e, d, data) in zip(self.network.kinds, self.network.pairs):
            if kind.denoises:
                pair = kind.compared(outputs, e, d, stop_gradient_lib.get(data["stop_gradient"]))
                found[(e, d)] = tuple(ops.convert_to_numpy(v) for v in pair)
        return found

    # ------------------------------------------------------------------ loss

    def loss_terms(self, y, outputs, step):
        """Every term by name, ``loss`` included, for labels `y` (-1: unlabelled) and the outputs of a call.

        After a training call the cross-entropy is the corrupted pass's and
        the accuracy the clean pass's; after an evaluation call both come from
        the clean probabilities.
        """
        labels = ops.reshape(ops.cast(y, "int32"), (-1,))
        labelled = ops.cast(labels >= 0, self.compute_dtype)
        count = ops.maximum(ops.sum(labelled), 1.0)
        one_hot = ops.one_hot(ops.maximum(labels, 0), self.n_classes, dtype=self.compute_dtype)
        if isinstance(outputs, dict):
            log_p = ops.log_softmax(self.network.logits(outputs[SUPERVISED]), axis=-1)
            clean_z = self.network.logits(outputs[clean(SUPERVISED)])
        else:
            log_p, clean_z = ops.log(ops.maximum(outputs, 1e-12)), outputs
        cross_entropy = -ops.sum(labelled * ops.sum(one_hot * log_p, axis=-1)) / count
        correct = ops.cast(ops.argmax(clean_z, axis=-1) == labels, self.compute_dtype)
        accuracy = ops.sum(labelled * correct) / count
        terms = {"cross_entropy": cross_entropy, "accuracy": accuracy, "error": 1.0 - accuracy,
                 "labelled": ops.sum(labelled), "loss": cross_entropy}
        if isinstance(outputs, dict):
            pair_terms, totals, pair_loss = self.network.pair_terms(outputs, step)
            terms.update(totals)
            terms.update(pair_terms)
            if pair_loss is not None:
                terms["loss"] = cross_entropy + pair_loss
        return terms

    def step_terms(self, x, y, y_pred, step, training):
        if y is None:
            raise ValueError(f"{self.name} needs labels: fit(x, y) with y = -1 for unlabelled rows, or a "
                             "ladderae.SemiSupervisedBatches.")
        if training and isinstance(y_pred, dict):
            self.network.update_statistics(y_pred)
        return self.loss_terms(y, y_pred, step)

    def term_weight(self, name, terms, x, y_pred):
        """The supervised terms weigh by the labelled rows; the pair terms by the rows the pass decoded (a batch in
        parts: its unlabelled part)."""
        if name in SUPERVISED_TERMS:
            return terms["labelled"]
        rows = y_pred[clean(graph_lib.INPUT)] if isinstance(y_pred, dict) else y_pred
        return ops.cast(ops.shape(rows)[0], self.compute_dtype)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        logs = super().compute_metrics(x, y, y_pred, sample_weight=sample_weight)
        if not isinstance(y_pred, dict):  # evaluation runs no decoder: only the supervised terms
            logs = {k: v for k, v in logs.items() if k == "loss" or k in SUPERVISED_TERMS}
        return logs

    # ------------------------------------------------------------ statistics

    def recompute_statistics(self, x, batch_size=1000):
        """Set the evaluation batch-norm statistics to the exact mean and variance over the rows of `x`.

        A clean pass, layer by layer from the bottom (each layer's inputs
        normalised with the population statistics just set below it, as at
        evaluation); the weights and the noise state are left as they are. The
        result does not depend on `batch_size` (only memory does), up to float
        rounding. Give it data distributed like what the model will be scored
        on, e.g. the training digits (labelled and unlabelled, without
        repeats). It replaces the running averages that training keeps, which
        lag the weights; training goes on updating them from there.
        """
        x = self._check_x(x, "recompute_statistics")
        batch_size = checks.check_positive_int("batch_size", batch_size)
        self.network.set_population_statistics([self._flatten(ops.convert_to_tensor(x[i : i + batch_size]))
                                                for i in range(0, len(x), batch_size)])

    # ------------------------------------------------- Keras' loops, checked

    def _check_x(self, x, what, name="x"):
        """`x` as an array of rows of the input width, numeric and finite, or a ValueError naming `name`."""
        x = np.asarray(x)
        width = self._graph.nodes[graph_lib.INPUT]["units"]
        if x.ndim < 2 or int(np.prod(x.shape[1:])) != width or not len(x):
            raise ValueError(f"{what}: `{name}` must hold rows of {width} values. Received: {name} with shape "
                             f"{x.shape}.")
        if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
            raise ValueError(f"{what}: `{name}` must be numeric. Received: {name} of dtype {x.dtype}.")
        return checks.check_all_finite(name, x)

    def check_data(self, method, x, y=None, sample_weight=None, validation_data=None):
        """Rows of the input width; labels in [0, n_classes) or -1 (unlabelled) for `fit`, all labelled for
        `evaluate`. `fit` gets (x, y) as the model's input, to normalise the labelled and unlabelled rows of a
        batch apart when it has at least `ladderae.nn.ladder_walk.MIN_PART_ROWS` of each (else together); a
        `SemiSupervisedBatches` whose every batch has that many of each comes in parts
        (`LadderNodes.forward_parts`), labelled rows first: the same loss, and the decoder runs on the unlabelled
        rows alone."""
        if sample_weight is not None:
            raise ValueError(f"{self.name} does not weight examples: call {method} without sample_weight.")
        if isinstance(x, keras.utils.PyDataset):
            if method != "fit":
                return x, y
            apart = (isinstance(x, ladder_data.SemiSupervisedBatches) and self.network.trains_parts_apart
                     and min(x.part_sizes()) >= MIN_PART_ROWS)
            return ladder_data.WithLabels(x, parts=apart), y
        x = self._check_x(x, method)
        if validation_data is not None:  # as evaluate takes it: (x_val, y_val), every row labelled
            if not (isinstance(validation_data, tuple) and len(validation_data) == 2):
                raise ValueError("`validation_data` must be (x_val, y_val), every row labelled.")
            ladder_data.check_labels(validation_data[1], self.n_classes,
                                     len(self._check_x(validation_data[0], method, "validation_data")),
                                     name="validation_data", unlabelled=False)
        if method == "predict":
            return x, None
        if y is None and method == "fit":
            raise ValueError("fit needs `y`: one label per row of x, -1 for an unlabelled row (or pass a "
                             "ladderae.SemiSupervisedBatches as x).")
        y = ladder_data.check_labels(y, self.n_classes, len(x), unlabelled=method == "fit")
        return ((x, y), y) if method == "fit" else (x, y)

    # ---------------------------------------------------------------- config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in WEIGHTS:
            config[key] = [schedules.get(w, key) for w in config[key]]
        return cls(**config)
