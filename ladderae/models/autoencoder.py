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

    The architecture is a `networkx.DiGraph` (`model.graph`): input ``x``,
    encoder layers ``e1..eL``, bottleneck ``z``, decoder layers ``dL..d1`` and
    output ``x_hat``, plus the edges a pairing rule adds: a pair edge of a
    registered pair kind (`ladderae.pair_kinds`) and, where asked, a weight
    tie. A consistency pair adds ``weight * loss(e_i, d_i)`` to the training
    loss, with the gradient routed by its stop-gradient mode (see
    `ladderae.stop_gradient`). With ``variational=True`` the loss is the
    negative ELBO in nats per example (reconstruction summed over every input
    dimension, KL summed over latent dimensions, both averaged over the batch;
    the KL weighted by `beta`) plus the pair terms. Train it with
    ``model.compile(optimizer); model.fit(x)``.

    Parameters
    ----------
    input_dim, input_shape : int or tuple of int
        Size or shape of one example (exactly one of them); conv layers need
        ``input_shape=(height, width, channels)``.
    encoder : list of int
        Widths of the dense layers e1..eL (after the conv layers, if any; may
        then be empty); the decoder mirrors them.
    latent_dim : int or list of int
        Width of the bottleneck; with ``pair_kind="stochastic"`` a list of one
        width per stochastic pair from the input side, the top (the
        bottleneck) last: a Ladder VAE (see `ladderae.pair_kinds.stochastic`).
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
    pair_kind : str, None or list of them
        The registered pair kind of each pair (``"consistency"``, ``"stochastic"``), one for all
        or one per pair; None adds no pair edge (with `tied_weights`: a tie
        that computes no loss).
    consistency_weight : float, Schedule or list of them
        Weight of each consistency pair's loss (one value for all pairs or one per pair).
    consistency_loss : str or list of str
        ``"mse"`` (default) or ``"normalized_mse"``, per pair or for all.
    stop_gradient : str or list of str
        ``"none"``, ``"encoder"``, ``"decoder"`` or ``"local"``, per pair or for all.
    tied_weights : bool or list of bool
        Decoder layers reuse the transposed kernel of their paired encoder layer.
    **kwargs
        Keras' own (``name``, ``dtype``, ...) and the settings other registered
        pair kinds declare (`ladderae.PairKind.settings`), one value or one per pair.
    likelihood : str or ladderae.likelihoods.Likelihood
        ``"bernoulli"`` (logits), ``"gaussian"`` (learned scale), ``"gaussian_unit"``,
        ``"gaussian_heteroscedastic"`` (a scale per value from the decoder), or a
        likelihood layer (e.g. `ladderae.ColumnLikelihood` for tables); it
        declares the shape of the output layer (`Likelihood.param_shape`).
    beta : float or Schedule
        Weight of the KL term, evaluated from the model's step counter inside
        the compiled step (use `ladderae.LinearWarmup` for KL warm-up).
    free_bits : float or list of float
        Minimum KL per latent dimension (nats, batch average) in the loss; the
        reported ``kl`` metric stays the true KL. A hierarchy may give one per
        latent layer, the top last.
    objective : str
        ``"elbo"`` (the negative ELBO) or ``"iwae"``: the importance-weighted
        bound with `k` posterior samples per example (Burda et al.), reported
        as ``neg_iwae`` beside ``neg_elbo`` (see `ladderae.objective`).
    k : int
        Posterior samples per example of the ``iwae`` objective (1: the ELBO
        estimated by sampling instead of the analytic KL).
    activation : str
        Activation of the hidden layers.
    batch_norm : bool
        Batch-normalise the hidden dense layers' pre-activations (batch
        statistics in training, moving averages otherwise; tied layers are not
        normalised): the Ladder VAE trains its deterministic layers so.
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
        pair_kind="consistency",
        consistency_weight=1.0,
        consistency_loss="mse",
        stop_gradient="none",
        tied_weights=False,
        likelihood="bernoulli",
        beta=1.0,
        free_bits=0.0,
        objective="elbo",
        k=1,
        activation="relu",
        batch_norm=False,
        seed=None,
        **kwargs,
    ):
        # A registered pair kind's own settings arrive as keywords (e.g. a custom kind's `gap_weight`).
        kind_settings = {key: kwargs.pop(key) for key in list(kwargs) if key in pairing_lib.kind_arguments()}
        super().__init__(**kwargs)
        # The graph: the architecture and its pairs; the likelihood declares the output layer's shape.
        shape = arguments.input_shape(input_dim, input_shape)
        variational = checks.check_bool("variational", variational)
        keras.activations.get(activation)  # an unknown activation fails here, by name, before any layer exists
        self.likelihood = likelihoods.get(likelihood, name="likelihood")
        top_dim, lower_dims = latents.split_latent_dim(latent_dim)
        g = graph_lib.build_graph(
            shape, encoder, top_dim, conv=conv, kernel_size=kernel_size, strides=strides,
            variational=variational, activation=activation, output_shape=self.likelihood.param_shape,
            batch_norm=checks.check_bool("batch_norm", batch_norm),
        )
        pairing_lib.apply_pairing(
            g, pairing, pairing_options=pairing_options, pair_kind=pair_kind, tied_weights=tied_weights,
            consistency_weight=consistency_weight, consistency_loss=consistency_loss, stop_gradient=stop_gradient,
            **kind_settings,
        )
        latents.assign_widths(g, lower_dims, latent_dim)  # a list: one latent per stochastic pair, the top last
        graph = nx.freeze(g)
        network = NodeNetwork(graph)

        # Training settings that are not architecture.
        self.beta = schedules.get(beta, "beta")
        self.free_bits = latents.check_free_bits(free_bits, len(network.latents) + 1)
        self.objective, self.k = arguments.objective_choice(objective, k, variational, self.free_bits)
        # The model on the graph and its walk, with the resolved arguments as get_config returns them (pairs: as
        # resolved into the graph).
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
    def term_names(self):
        """Names of the loss terms reported as metrics (besides Keras' own ``loss``)."""
        names = ["reconstruction"] + [t for t in self.likelihood.nll_term_names if t != "reconstruction"]
        if self.variational:
            names += ["kl", "beta", "neg_elbo"] + (["neg_iwae"] if self.objective == "iwae" else [])
            names += latents.term_names(self.network)
        return names + self.network.term_names()

    def build(self, input_shape):
        self.network.build()
        self.likelihood.build((None, *self._graph.nodes[graph_lib.OUTPUT]["shape"]))
        self.built = True

    # --------------------------------------------------------------- forward

    def _flatten(self, inputs):
        """Check the examples' shape; return them as the first layer reads them (flattened for a dense layer)."""
        shape = self._graph.graph["input_shape"]
        if tuple(inputs.shape[1:]) != shape:
            raise inputs_lib.shape_error(self, inputs.shape[1:])
        return ops.reshape(ops.cast(inputs, self.compute_dtype), (-1, *self._graph.nodes[graph_lib.INPUT]["shape"]))

    def _draw_noise(self, batch):
        return keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)

    def _context(self, rows, sample=True, training=None):
        """The `WalkContext` of a pass over `rows` examples: sampled (z's noise drawn once for the pass, so that
        a `local` pair's re-run sees the same z; the latents below from the seed generator) or, unless `sample`
        on a variational model, deterministic (every latent at its mean)."""
        if not (sample and self.variational):
            return WalkContext(training=training)
        return WalkContext(training=training, noise=self._noise, given={graph_lib.LATENT: self._draw_noise(rows)})

    def call(self, inputs, training=False):
        """All activations by node name, plus ``z_mean``, ``z_log_var`` and ``reconstruction``.

        The bottleneck samples z in training and in evaluation alike (the ELBO
        needs a sample); `encode`/`reconstruct` give the deterministic mean.
        With ``training=True`` each pair kind adds what it computes in a
        training pass (a `local` consistency pair: ``<decoder>_local``), and
        the ``iwae`` objective runs its k samples per example (k times the
        rows, sample-major).
        """
        return self._forward(inputs, training, self.k if training and self.objective == "iwae" else 1)

    def _forward(self, inputs, training, samples):
        h = self._flatten(inputs)
        out = self.network.forward(h, self._context(ops.shape(h)[0] * samples, training=training), samples)
        out["reconstruction"] = ops.reshape(self.likelihood(out[graph_lib.OUTPUT]), (-1, *self._data_shape))
        return out

    @property
    def _data_shape(self):
        return self._graph.graph["input_shape"]

    # ------------------------------------------------------------------ loss

    def loss_terms(self, x, outputs, step):
        """Every loss term as a scalar tensor, by name; ``loss`` is what training minimises (see `ladderae.objective`).

        `outputs` come from ``model(x, training=True)`` (the ``iwae``
        objective needs its k samples per example) or, for ``elbo``, ``model(x)``.
        """
        return objective.loss_terms(self.network, self.likelihood, self._flatten(x), outputs, step,
                                    beta=self.beta(step), free_bits=self.free_bits, objective=self.objective,
                                    k=self.k)

    def step_terms(self, x, y, y_pred, step, training):
        if y is not None:
            raise ValueError(
                f"{self.name} learns from x alone: call fit(x) with no targets (got y of shape {tuple(y.shape)})."
            )
        if not training and self.objective == "iwae" and self.k > 1:  # evaluate() scores the bound it trains
            y_pred = self._forward(x, False, self.k)
        return self.loss_terms(x, y_pred, step)

    def term_weight(self, name, terms, x, y_pred):
        return ops.shape(x)[0]  # the batch size, as Keras' own loss tracker weighs

    def check_data(self, method, x, y=None, sample_weight=None, validation_data=None):
        """`ladderae.data.inputs.check_call`: examples that fit the graph and the likelihood, no targets or
        weights."""
        inputs_lib.check_call(self, method, x, y, sample_weight, validation_data)
        return x, None

    # ---------------------------------------------------------------- config

    def get_config(self):
        likelihood = self._arguments["likelihood"] or keras.saving.serialize_keras_object(self.likelihood)
        return {**super().get_config(), "likelihood": likelihood, "beta": schedules.serialize(self.beta)}
