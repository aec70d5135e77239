"""`LadderAE`: the Keras model of a layer-matched (variational) autoencoder built from its pairing graph.

The graph (`ladderae.graph`) is the architecture, `ladderae.network` turns it
into layers and walks them, `ladderae.objective` assembles the loss; this
module is the Keras side: training step hooks, metrics, user methods, config.
"""

import keras
import networkx as nx
from keras import ops

from ladderae import checks
from ladderae.models import arguments
from ladderae.nn import activations
from ladderae.nn import latents
from ladderae.nn import likelihoods
from ladderae.nn import objective
from ladderae.nn import schedules
from ladderae.graph import build as graph_lib
from ladderae.data import inputs as inputs_lib
from ladderae.graph import pairing as pairing_lib
from ladderae.models.base import GraphModel
from ladderae.models.hierarchy import HierarchyMethods
from ladderae.models.methods import LatentMethods
from ladderae.nn.context import WalkContext
from ladderae.nn.walk import NodeNetwork

__all__ = ["LadderAE"]


@keras.saving.register_keras_serializable(package="ladderae")
class LadderAE(HierarchyMethods, LatentMethods, GraphModel):
    """A deep autoencoder whose encoder layers are matched to their mirror decoder layers.

    The architecture is a `networkx.DiGraph` (`model.graph`): ``x``, ``e1..eL``,
    ``z``, ``dL..d1``, ``x_hat``, plus the pair edges of registered pair kinds
    (`ladderae.pair_kinds`) and weight ties that a pairing rule adds. With
    ``variational=True`` the loss is the negative ELBO in nats per example
    (`ladderae.objective`) plus each pair's weighted loss. Train it with
    ``model.compile(optimizer); model.fit(x)``.

    Parameters
    ----------
    input_dim, input_shape : int or tuple of int
        Size or shape of one example (give one); conv layers need (height, width, channels).
    encoder : list of int
        Widths of the dense layers e1..eL (after any conv layers; then may be empty), mirrored by the decoder.
    latent_dim : int or list of int
        Width of z; with ``pair_kind="stochastic"`` one per stochastic pair, the top last (`ladderae.latents`).
    conv, kernel_size, strides
        Filters of Conv2D layers before the dense ones, each mirrored by a Conv2DTranspose, and their kernel
        sizes and strides (`ladderae.graph.build_graph`).
    variational : bool
        Gaussian posterior, reparameterised, analytic KL (True) or a deterministic bottleneck.
    pairing, pairing_options
        A registered pairing rule (``"mirror"``, ``"none"``, ``"depths"``, ``"every"``), a rule function or
        explicit pairs, and the rule's options, e.g. ``{"depths": [2]}`` (`ladderae.pairing`).
    pair_kind : str, None or list
        Registered pair kind of each pair (``"consistency"``, ``"stochastic"``, ...), one for all or one per
        pair; None: no pair edge (with `tied_weights`, a tie alone).
    consistency_weight, consistency_loss, stop_gradient
        Per pair, one value for all or one per pair: a consistency pair's weight (float or Schedule) and loss
        (``"mse"``, ``"normalized_mse"``: `ladderae.losses`); a stop-gradient mode (`ladderae.stop_gradient`).
    tied_weights : bool or list of bool
        Decoder layers reuse the transposed kernel of their paired encoder layer.
    likelihood : str or ladderae.likelihoods.Likelihood
        ``"bernoulli"``, ``"gaussian"``, ``"gaussian_unit"``, ``"gaussian_heteroscedastic"`` or a likelihood
        layer (`ladderae.likelihoods`; `ladderae.ColumnLikelihood` for tables): it shapes the output layer.
    beta : float or Schedule
        Weight of the KL term (`ladderae.LinearWarmup` for a warm-up), read from the step counter.
    free_bits : float or list of float
        Minimum KL (nats) per latent dimension in the loss, the ``kl`` metric staying true; a hierarchy may give
        one per latent layer, the top last.
    objective, k
        ``"elbo"`` or ``"iwae"``, the importance-weighted bound with `k` samples per example (`ladderae.objective`).
    activation : str
        Of the hidden layers.
    batch_norm : bool
        Batch-normalise the hidden dense layers' pre-activations (not tied layers), as the Ladder VAE trains.
    seed : int or None
        Seed of the sampling noise.
    **kwargs
        Keras' own (``name``, ``dtype``) and other pair kinds' settings (`ladderae.PairKind.settings`).
    """

    def __init__(self, input_dim=None, *, input_shape=None, encoder=(512, 256), latent_dim=32, conv=(), kernel_size=3,
                 strides=2, variational=True, pairing="mirror", pairing_options=None, pair_kind="consistency",
                 consistency_weight=1.0, consistency_loss="mse", stop_gradient="none", tied_weights=False,
                 likelihood="bernoulli", beta=1.0, free_bits=0.0, objective="elbo", k=1, activation="relu",
                 batch_norm=False, seed=None, **kwargs):
        # A registered pair kind's own settings arrive as keywords (e.g. a custom kind's `gap_weight`).
        kind_settings = {key: kwargs.pop(key) for key in list(kwargs) if key in pairing_lib.kind_arguments()}
        super().__init__(**kwargs)
        # The graph: the architecture and its pairs; the likelihood declares the output layer's shape.
        shape = arguments.input_shape(input_dim, input_shape)
        variational = checks.check_bool("variational", variational)
        activations.get(activation)  # an unknown activation fails here, by name, before any layer exists
        self.likelihood = likelihoods.get(likelihood, name="likelihood")
        top_dim, lower_dims = latents.split_latent_dim(latent_dim)
        g = graph_lib.build_graph(shape, encoder, top_dim, conv=conv, kernel_size=kernel_size, strides=strides,
                                  variational=variational, activation=activation,
                                  output_shape=self.likelihood.param_shape,
                                  batch_norm=checks.check_bool("batch_norm", batch_norm))
        pairing_lib.apply_pairing(g, pairing, pairing_options=pairing_options, pair_kind=pair_kind,
                                  tied_weights=tied_weights, consistency_weight=consistency_weight,
                                  consistency_loss=consistency_loss, stop_gradient=stop_gradient, **kind_settings)
        latents.assign_widths(g, lower_dims, latent_dim)  # a list: one latent per stochastic pair, the top last
        graph = nx.freeze(g)
        network = NodeNetwork(graph)
        # Training settings that are not architecture.
        self.beta = schedules.get(beta, "beta")
        self.free_bits = latents.check_free_bits(free_bits, len(network.latents) + 1)
        self.objective, self.k = arguments.objective_choice(objective, k, variational, self.free_bits)
        # The model on its graph and walk; the arguments as get_config returns them (the pairs as resolved).
        self._set_up(graph, network, seed, {
            "input_shape": list(shape), "encoder": list(encoder), "latent_dim": arguments.listed(latent_dim),
            "conv": list(conv), "kernel_size": arguments.listed(kernel_size), "strides": arguments.listed(strides),
            "variational": bool(variational), "pairing": pairing_lib.explicit_pairs(graph),
            "likelihood": likelihood if isinstance(likelihood, str) else None,
            "free_bits": self.free_bits, "objective": self.objective, "k": self.k, "activation": activation,
            "batch_norm": bool(batch_norm), "seed": seed,
        })
        self.build((None, *shape))

    # ----------------------------------------------------------------- graph

    @property
    def variational(self):
        return self._graph.graph["variational"]

    @property
    def latent_dim(self):
        return self._graph.graph["latent_dim"]

    @property
    def _data_shape(self):
        return self._graph.graph["input_shape"]

    @property
    def term_names(self):
        """Names of the loss terms reported as metrics (besides Keras' own ``loss``)."""
        names = ["reconstruction"] + [t for t in self.likelihood.nll_term_names if t != "reconstruction"]
        if self.variational:
            names += ["kl", "beta", "neg_elbo"] + (["neg_iwae"] if self.objective == "iwae" else [])
            names += latents.term_names(self.network)
        return names + self.network.term_names()

    def build(self, input_shape):
        super().build(input_shape)
        self.likelihood.build((None, *self._graph.nodes[graph_lib.OUTPUT]["shape"]))

    # --------------------------------------------------------------- forward

    def _flatten(self, inputs):
        """Check the examples' shape; return them as the first layer reads them (flattened for a dense layer)."""
        if tuple(inputs.shape[1:]) != self._data_shape:
            raise inputs_lib.shape_error(self, inputs.shape[1:])
        return ops.reshape(ops.cast(inputs, self.compute_dtype), (-1, *self._graph.nodes[graph_lib.INPUT]["shape"]))

    def _draw_noise(self, batch):
        return self._noise((batch, self.latent_dim))

    def _context(self, rows, sample=True, training=None):
        """The `WalkContext` of a pass over `rows` examples: every latent at its mean unless `sample` on a variational
        model (z's noise drawn once, so that a `local` re-run sees the same z; the lower ones' from the seed generator)."""
        if not (sample and self.variational):
            return WalkContext(training=training)
        return WalkContext(training=training, noise=self._noise, given={graph_lib.LATENT: self._draw_noise(rows)})

    def call(self, inputs, training=False):
        """All activations by node name, plus ``z_mean``, ``z_log_var`` and ``reconstruction``.

        z is sampled in training and evaluation alike (the ELBO needs a sample; `encode` gives the mean). In
        training each pair kind adds what it computes (a `local` pair: ``<decoder>_local``), and the ``iwae``
        objective runs k samples per example (k times the rows, sample-major).
        """
        return self._forward(inputs, training, self.k if training and self.objective == "iwae" else 1)

    def _forward(self, inputs, training, samples):
        h = self._flatten(inputs)
        out = self.network.forward(h, self._context(ops.shape(h)[0] * samples, training=training), samples)
        out["reconstruction"] = self._mean_of(out[graph_lib.OUTPUT])
        return out

    # ------------------------------------------------------------------ loss

    def loss_terms(self, x, outputs, step):
        """Every loss term as a scalar tensor, by name; ``loss`` is what training minimises (`ladderae.objective`),
        given the `outputs` of ``model(x, training=True)`` (or, for ``elbo``, ``model(x)``)."""
        return objective.loss_terms(self.network, self.likelihood, self._flatten(x), outputs, step,
                                    beta=self.beta(step), free_bits=self.free_bits, objective=self.objective, k=self.k)

    def step_terms(self, x, y, y_pred, step, training):
        if y is not None:
            raise ValueError(f"{self.name} learns from x alone: call fit(x) with no targets (got y of shape "
                             f"{tuple(y.shape)}).")
        if not training and self.objective == "iwae" and self.k > 1:  # evaluate() scores the bound it trains
            y_pred = self._forward(x, False, self.k)
        return self.loss_terms(x, y_pred, step)

    def term_weight(self, name, terms, x, y_pred):
        return ops.shape(x)[0]  # the batch size, as Keras' own loss tracker weighs

    def check_data(self, method, x, y=None, sample_weight=None, validation_data=None):
        """`ladderae.data.inputs.check_call`: examples that fit the graph and the likelihood; no targets, weights."""
        inputs_lib.check_call(self, method, x, y, sample_weight, validation_data)
        return x, None

    # ---------------------------------------------------------------- config

    def get_config(self):
        likelihood = self._arguments["likelihood"] or keras.saving.serialize_keras_object(self.likelihood)
        return {**super().get_config(), "likelihood": likelihood, "beta": schedules.serialize(self.beta)}
