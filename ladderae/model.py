"""`LadderAE`: a layer-matched (variational) autoencoder built from its pairing graph."""

import functools
import math

import keras
import networkx as nx
import numpy as np
from keras import ops

from ladderae import graph as graph_lib
from ladderae import checks, likelihoods, losses, schedules
from ladderae import pairing as pairing_lib
from ladderae import stop_gradient as stop_gradient_lib
from ladderae.distribute import ReplicaSeedGenerator, reducible_metrics, scale_loss
from ladderae.layers import Conv2DTransposed, DenseTransposed

__all__ = ["LadderAE"]

# (a node's "layer" in the graph, tied to its pair's encoder kernel?) -> the Keras layer that makes the node.
_LAYER_CLASSES = {
    ("dense", False): keras.layers.Dense,
    ("dense", True): DenseTransposed,
    ("conv", False): functools.partial(keras.layers.Conv2D, data_format="channels_last"),
    ("conv_transpose", False): functools.partial(keras.layers.Conv2DTranspose, data_format="channels_last"),
    ("conv_transpose", True): Conv2DTransposed,
}


def _input_shape(input_dim, input_shape):
    if (input_dim is None) == (input_shape is None):
        raise ValueError(
            "Give exactly one of `input_dim` (e.g. 784) or `input_shape` (e.g. (28, 28)). "
            f"Received: input_dim={input_dim!r}, input_shape={input_shape!r}"
        )
    if input_dim is not None:
        return (checks.check_positive_int("input_dim", input_dim),)
    return tuple(graph_lib._check_sizes("input_shape", input_shape))


@keras.saving.register_keras_serializable(package="ladderae")
class LadderAE(keras.Model):
    """A deep autoencoder whose encoder layers are matched to their mirror decoder layers.

    The architecture is a `networkx.DiGraph` (`model.graph`): input ``x``,
    encoder layers ``e1..eL``, bottleneck ``z``, decoder layers ``dL..d1`` and
    output ``x_hat``, plus pair edges from a pairing rule. Each pair adds
    ``weight * loss(e_i, d_i)`` to the training loss, with the gradient routed
    by its stop-gradient mode (see `ladderae.stop_gradient`). With
    ``variational=True`` the loss is the negative ELBO in nats per example
    (reconstruction summed over every input dimension, KL summed over latent
    dimensions, both averaged over the batch; the KL weighted by `beta`) plus the
    consistency terms. Train it with ``model.compile(optimizer); model.fit(x)``.

    Parameters
    ----------
    input_dim, input_shape : int or tuple of int
        Size or shape of one example (exactly one of them); conv layers need
        ``input_shape=(height, width, channels)``.
    encoder : list of int
        Widths of the dense layers e1..eL (after the conv layers, if any; may
        then be empty); the decoder mirrors them.
    latent_dim : int
        Width of the bottleneck.
    conv : list of int
        Filters of Conv2D encoder layers (``padding="same"``) before the dense
        ones, e.g. ``[32, 64]``; each is mirrored by a Conv2DTranspose, with a
        Flatten before the first dense layer and a Reshape after its mirror.
    kernel_size, strides : int or list
        Of the conv layers: one int for all, or one int or (height, width)
        pair per conv layer. Height and width of the input must be multiples
        of the product of the strides (see `ladderae.graph.build_graph`).
    variational : bool
        Gaussian posterior with the reparameterisation trick and an analytic KL
        term (True) or a deterministic bottleneck (False).
    pairing : str, callable, list or None
        A registered pairing rule (``"mirror"``, ``"none"``, ``"depths"``,
        ``"every"`` or your own), a rule function, or explicit pairs.
    pairing_options : dict
        Keyword options for the rule, e.g. ``{"depths": [2]}`` or ``{"k": 2}``.
    consistency_weight : float, Schedule or list of them
        Weight of each pair's loss (one value for all pairs or one per pair).
    consistency_loss : str or list of str
        ``"mse"`` (default) or ``"normalized_mse"``, per pair or for all.
    stop_gradient : str or list of str
        ``"none"``, ``"encoder"``, ``"decoder"`` or ``"local"``, per pair or for all.
    tied_weights : bool or list of bool
        Decoder layers reuse the transposed kernel of their paired encoder layer.
    likelihood : str or ladderae.likelihoods.Likelihood
        ``"bernoulli"`` (logits), ``"gaussian"`` (learned scale), ``"gaussian_unit"``,
        or a likelihood layer (e.g. `ladderae.ColumnLikelihood` for tables).
    beta : float or Schedule
        Weight of the KL term, evaluated from the model's step counter inside
        the compiled step (use `ladderae.LinearWarmup` for KL warm-up).
    free_bits : float
        Minimum KL per latent dimension (nats, batch average) in the loss; the
        reported ``kl`` metric stays the true KL.
    activation : str
        Activation of the hidden layers.
    seed : int or None
        Seed of the sampling noise.
    """

    def __init__(
        self,
        input_dim=None,
        *,
        input_shape=None,
        encoder=(512, 256),
        latent_dim=32,
        conv=(),
        kernel_size=3,
        strides=2,
        variational=True,
        pairing="mirror",
        pairing_options=None,
        consistency_weight=1.0,
        consistency_loss="mse",
        stop_gradient="none",
        tied_weights=False,
        likelihood="bernoulli",
        beta=1.0,
        free_bits=0.0,
        activation="relu",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        # The graph: the architecture and its pairs.
        shape = _input_shape(input_dim, input_shape)
        keras.activations.get(activation)  # an unknown activation fails here, by name, before any layer exists
        g = graph_lib.build_graph(
            shape, encoder, latent_dim, conv=conv, kernel_size=kernel_size, strides=strides,
            variational=variational, activation=activation,
        )
        pairing_lib.apply_pairing(
            g,
            pairing,
            pairing_options=pairing_options,
            consistency_weight=consistency_weight,
            consistency_loss=consistency_loss,
            stop_gradient=stop_gradient,
            tied_weights=tied_weights,
        )
        self._graph = nx.freeze(g)
        self._order = graph_lib.flow_order(self._graph)
        self._pairs = graph_lib.pairs(self._graph)
        self._tied_sources = {n: graph_lib.tied_source(self._graph, n) for n in self._order[1:]}

        # Training settings that are not architecture.
        self.beta = schedules.get(beta, "beta")
        self.free_bits = checks.check_non_negative("free_bits", free_bits)
        self.seed = seed

        # One layer per graph node, named after it.
        self.node_layers = {node: self._make_layer(node) for node in self._order[1:]}
        self.likelihood = likelihoods.get(likelihood, name="likelihood")
        self.likelihood_name = likelihood if isinstance(likelihood, str) else None
        self.seed_generator = ReplicaSeedGenerator(seed)  # each tf.distribute replica draws its own noise
        self.step_counter = self.add_weight(
            shape=(), dtype="int32", initializer="zeros", trainable=False, name="step_counter"
        )
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.term_names}
        self.build((None, *shape))

    # ----------------------------------------------------------------- graph

    @property
    def graph(self):
        """The architecture (frozen): nodes are layers, ``kind="flow"``/``"pair"`` edges."""
        return self._graph

    @property
    def pairs(self):
        """The matched (encoder, decoder) node pairs, from the input side."""
        return [(e, d) for e, d, _ in self._pairs]

    @property
    def variational(self):
        return self._graph.graph["variational"]

    @property
    def latent_dim(self):
        return self._graph.graph["latent_dim"]

    @property
    def term_names(self):
        """Names of the loss terms reported as metrics (besides Keras' own ``loss``)."""
        names = ["reconstruction"] + [t for t in self.likelihood.nll_term_names if t != "reconstruction"]
        if self.variational:
            names += ["kl", "beta", "neg_elbo"]
        if self._pairs:
            names += ["consistency"] + [f"pair_{e}_{d}" for e, d, _ in self._pairs]
        return names

    def _make_layer(self, node):
        data = self._graph.nodes[node]
        if data["role"] == "latent":
            if data["variational"]:
                return {"mean": keras.layers.Dense(data["units"], name="z_mean"),
                        "log_var": keras.layers.Dense(data["units"], name="z_log_var")}
            return keras.layers.Dense(data["units"], name="z")
        layer_class = _LAYER_CLASSES[data["layer"], self._tied_sources[node] is not None]
        activation = data.get("activation")
        if data["layer"] == "dense":
            return layer_class(data["units"], activation=activation, name=node)
        return layer_class(
            data["shape"][-1], data["kernel_size"], strides=data["strides"], padding="same",
            activation=activation, name=node,
        )

    def build(self, input_shape):
        for node in self._order[1:]:
            layer = self.node_layers[node]
            for part in layer.values() if isinstance(layer, dict) else [layer]:
                part.build((None, *graph_lib.layer_input_shape(self._graph, node)))
        self.likelihood.build((None, *self._graph.nodes[graph_lib.OUTPUT]["shape"]))
        self.built = True

    # --------------------------------------------------------------- forward

    def _apply_node(self, node, h, eps):
        """Run `node`'s layer on `h`; returns the named activations it produces.

        A dense layer reads a feature map flattened and reshapes its output to
        its node's shape: the Flatten and Reshape between conv and dense layers.
        """
        data = self._graph.nodes[node]
        layer = self.node_layers[node]
        if data["layer"] == "dense" and len(h.shape) > 2:
            h = ops.reshape(h, (-1, math.prod(h.shape[1:])))
        if data["role"] == "latent" and self.variational:
            mean, log_var = layer["mean"](h), layer["log_var"](h)
            z = mean if eps is None else losses.reparameterize(mean, log_var, eps)
            return {node: z, "z_mean": mean, "z_log_var": log_var}
        source = self._tied_sources[node]
        out = layer(h) if source is None else layer(h, kernel=self.node_layers[source].kernel)
        if data["layer"] == "dense" and len(data["shape"]) > 1:
            out = ops.reshape(out, (-1, *data["shape"]))
        return {node: out}

    def _walk(self, nodes, h, eps):
        out = {}
        for node in nodes:
            out.update(self._apply_node(node, h, eps))
            h = out[node]
        return out

    def _flatten(self, inputs):
        """Check the examples' shape; return them as the first layer reads them (flattened for a dense layer)."""
        shape = self._graph.graph["input_shape"]
        if tuple(inputs.shape[1:]) != shape:
            raise ValueError(
                f"{self.name} expects examples of shape {shape} (from input_dim/input_shape), "
                f"but got examples of shape {tuple(inputs.shape[1:])}. Reshape the data to (batch, *{shape}) "
                "or build the model with the matching input_shape."
            )
        return ops.reshape(ops.cast(inputs, self.compute_dtype), (-1, *self._graph.nodes[graph_lib.INPUT]["shape"]))

    def _draw_noise(self, batch):
        return keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)

    def call(self, inputs, training=False):
        """All activations by node name, plus ``z_mean``, ``z_log_var`` and ``reconstruction``.

        The bottleneck samples z in training and in evaluation alike (the ELBO
        needs a sample); `encode`/`reconstruct` give the deterministic mean.
        With ``training=True`` each `local` pair also gets ``<decoder>_local``:
        its inner layers re-run on a stopped copy of the encoder activation,
        with the same noise, so it has the same value but other gradients.
        """
        h = self._flatten(inputs)
        eps = self._draw_noise(ops.shape(h)[0]) if self.variational else None
        out = self._walk(self._order[1:], h, eps)
        if training:
            for e, d, data in self._pairs:
                if stop_gradient_lib.get(data["stop_gradient"]).rerun_inner_layers and not data["weight"].is_zero:
                    inner = graph_lib.inner_nodes(self._graph, e, d)
                    out[f"{d}_local"] = self._walk(inner, ops.stop_gradient(out[e]), eps)[d]
        shape = self._graph.graph["input_shape"]
        out["reconstruction"] = ops.reshape(self.likelihood(out[graph_lib.OUTPUT]), (-1, *shape))
        return out

    # ------------------------------------------------------------------ loss

    def loss_terms(self, x, outputs, step):
        """Every loss term as a scalar tensor, by name; ``loss`` is what training minimises.

        ``reconstruction`` and ``kl`` are in nats per example; ``neg_elbo`` is
        their sum (the beta-free negative ELBO); ``pair_<e>_<d>`` is a pair's
        unweighted loss and ``consistency`` the weighted sum over pairs. A
        likelihood made of parts (table columns) adds one term per part.
        """
        parts = self.likelihood.nll_terms(self._flatten(x), outputs[graph_lib.OUTPUT])
        terms = {name: ops.mean(value) for name, value in parts.items()}
        reconstruction = loss = None
        weights = self.likelihood.term_weights
        for name, value in terms.items():  # the loss weights each part; `reconstruction` is their plain sum
            weight = weights.get(name, 1.0)
            reconstruction = value if reconstruction is None else reconstruction + value
            weighted = value if weight == 1.0 else weight * value
            loss = weighted if loss is None else loss + weighted
        terms["reconstruction"] = reconstruction
        if self.variational:
            kl_per_dim = losses.gaussian_kl(outputs["z_mean"], outputs["z_log_var"])
            kl = ops.mean(ops.sum(kl_per_dim, axis=1))
            kl_in_loss = kl
            if self.free_bits:
                kl_in_loss = ops.sum(ops.maximum(ops.mean(kl_per_dim, axis=0), self.free_bits))
            beta = self.beta(step)
            loss = loss + beta * kl_in_loss
            terms.update(kl=kl, beta=beta, neg_elbo=reconstruction + kl)
        if self._pairs:
            consistency = ops.zeros((), dtype=reconstruction.dtype)
            for e, d, data in self._pairs:
                value = self._pair_loss(outputs, e, d, data)
                terms[f"pair_{e}_{d}"] = value
                if not data["weight"].is_zero:
                    consistency = consistency + data["weight"](step) * value
            terms["consistency"] = consistency
            loss = loss + consistency
        terms["loss"] = loss
        return terms

    def _pair_loss(self, outputs, e, d, data):
        loss_fn = losses.pair_losses.get(data["loss"])
        if data["weight"].is_zero:  # reported, never trained on
            return loss_fn(ops.stop_gradient(outputs[e]), ops.stop_gradient(outputs[d]))
        mode = stop_gradient_lib.get(data["stop_gradient"])
        decoder_side = outputs.get(f"{d}_local", outputs[d]) if mode.rerun_inner_layers else outputs[d]
        return loss_fn(*mode.apply(outputs[e], decoder_side))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if y is not None:
            raise ValueError(
                f"{self.name} learns from x alone: call fit(x) with no targets (got y of shape {tuple(y.shape)})."
            )
        if sample_weight is not None:
            raise ValueError(f"{self.name} does not support sample_weight; pass fit(x) without it.")
        if training:
            # Increment first, then use counter - 1: the read-then-assign order is not kept on TensorFlow.
            self.step_counter.assign_add(1)
            step = self.step_counter - 1
        else:
            step = ops.convert_to_tensor(self.step_counter)
        terms = self.loss_terms(x, y_pred, step)
        batch = ops.shape(x)[0]  # weight by batch size, as Keras' own loss tracker does
        for name, tracker in self.trackers.items():
            tracker.update_state(terms[name], sample_weight=batch)
        # Under tf.distribute Keras sums the replicas' gradients: return this replica's share of the mean.
        return scale_loss(terms["loss"])

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        # Keras 3 cannot reduce scalar step metrics across workers: see ladderae.distribute.reducible_metrics.
        return reducible_metrics(super().compute_metrics(x, y, y_pred, sample_weight=sample_weight))

    # ---------------------------------------------------------- convenience

    def _batched(self, fn, data, batch_size):
        """Apply `fn` (tensor -> tensor or dict of tensors) batch by batch; NumPy results."""
        data = np.asarray(data)
        parts = [fn(ops.convert_to_tensor(data[i : i + batch_size])) for i in range(0, len(data), batch_size)]
        if isinstance(parts[0], dict):
            return {k: np.concatenate([ops.convert_to_numpy(p[k]) for p in parts]) for k in parts[0]}
        return np.concatenate([ops.convert_to_numpy(p) for p in parts])

    def _encoder_nodes_to_latent(self):
        return self._order[1 : self._order.index(graph_lib.LATENT) + 1]

    def _decoder_nodes_from_latent(self):
        return self._order[self._order.index(graph_lib.LATENT) + 1 :]

    def _decoder_params(self, z):
        """The parameters of p(x | z) that the output layer emits for a batch of latent codes (backend tensor)."""
        return self._walk(self._decoder_nodes_from_latent(), ops.cast(z, self.compute_dtype), None)[graph_lib.OUTPUT]

    def posterior(self, x, batch_size=1024):
        """Mean and log-variance of q(z | x) as NumPy arrays (variational models)."""
        self._require_variational("posterior")

        def fn(batch):
            out = self._walk(self._encoder_nodes_to_latent(), self._flatten(batch), None)
            return {"mean": out["z_mean"], "log_var": out["z_log_var"]}

        out = self._batched(fn, x, batch_size)
        return out["mean"], out["log_var"]

    def encode(self, x, sample=False, batch_size=1024):
        """Latent codes of x: the posterior mean, or a reparameterised sample when `sample`."""
        if sample:
            self._require_variational("encode(sample=True)")

        def fn(batch):
            h = self._flatten(batch)
            eps = self._draw_noise(ops.shape(h)[0]) if sample else None
            return self._walk(self._encoder_nodes_to_latent(), h, eps)[graph_lib.LATENT]

        return self._batched(fn, x, batch_size)

    def activations(self, x, sample=False, batch_size=1024):
        """Every node's activation for x (through the posterior mean unless `sample`), as NumPy arrays by name."""
        if sample:
            self._require_variational("activations(sample=True)")

        def fn(batch):
            h = self._flatten(batch)
            return self._walk(self._order[1:], h, self._draw_noise(ops.shape(h)[0]) if sample else None)

        return self._batched(fn, x, batch_size)

    def log_px_given_z(self, x, z):
        """log p(x | z) per example (nats) as a backend tensor; x and z are batches of equal length."""
        return -self.likelihood.nll(self._flatten(x), self._decoder_params(z))

    def decode(self, z, batch_size=1024):
        """Mean of p(x | z) (pixel probabilities for Bernoulli), in the input's shape."""
        shape = self._graph.graph["input_shape"]

        def fn(batch):
            return ops.reshape(self.likelihood(self._decoder_params(batch)), (-1, *shape))

        return self._batched(fn, z, batch_size)

    def reconstruct(self, x, sample=False, batch_size=1024):
        """decode(encode(x)): deterministic through the posterior mean unless `sample`."""
        return self.decode(self.encode(x, sample=sample, batch_size=batch_size), batch_size=batch_size)

    def sample(self, n, seed=None):
        """Decode n draws from the prior N(0, I): means of p(x | z) in the input's shape."""
        self._require_variational("sample")
        z = keras.random.normal((n, self.latent_dim), seed=seed)
        return self.decode(ops.convert_to_numpy(z))

    def _require_variational(self, what):
        if not self.variational:
            raise ValueError(f"{what} needs a variational model; this one was built with variational=False.")

    # ---------------------------------------------------------------- config

    _NOISE_STATE = "seed_generator_state"

    def save_own_variables(self, store):
        """Keras' variables plus the sampling-noise state, so a reloaded model samples the same noise."""
        super().save_own_variables(store)
        store[self._NOISE_STATE] = self.seed_generator.state

    def load_own_variables(self, store):
        super().load_own_variables({key: store[key] for key in store.keys() if key != self._NOISE_STATE})
        self.seed_generator.state.assign(store[self._NOISE_STATE])

    def get_config(self):
        explicit_pairs = [
            {
                "encoder": e,
                "decoder": d,
                "weight": schedules.serialize(data["weight"]),
                "loss": data["loss"],
                "stop_gradient": data["stop_gradient"],
                "tied": data["tied"],
            }
            for e, d, data in self._pairs
        ]
        some_node = self._graph.nodes[self._order[1]]
        encoder = graph_lib.encoder_nodes(self._graph)
        conv = [n for n in encoder if self._graph.nodes[n]["layer"] == "conv"]
        return {
            **super().get_config(),
            "input_shape": list(self._graph.graph["input_shape"]),
            "encoder": [self._graph.nodes[n]["units"] for n in encoder if self._graph.nodes[n]["layer"] == "dense"],
            "latent_dim": self.latent_dim,
            "conv": [self._graph.nodes[n]["shape"][-1] for n in conv],
            "kernel_size": [list(self._graph.nodes[n]["kernel_size"]) for n in conv],
            "strides": [list(self._graph.nodes[n]["strides"]) for n in conv],
            "variational": self.variational,
            "pairing": explicit_pairs,
            "likelihood": self.likelihood_name or keras.saving.serialize_keras_object(self.likelihood),
            "beta": schedules.serialize(self.beta),
            "free_bits": self.free_bits,
            "activation": some_node["activation"],
            "seed": self.seed,
        }
