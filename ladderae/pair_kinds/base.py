"""`PairKind`: what one kind of pair edge between e_i and d_i asks the model to compute.

A pair edge ``(e_i, d_i)`` in the graph carries ``pair_kind`` (a registered
name) and that kind's own attributes. The model never branches on a kind: it
asks the kind

- which settings it takes and how to store them on the edge
  (`edge_attributes`) and back in a saved config (`serialize`);
- which extra Keras layers it adds (`make_layers`; e.g. a combinator);
- what it contributes to the forward pass: `merge` (into its decoder node,
  during the walk: a lateral connection, a merged latent), `merge_encoder`
  (into its encoder node, on the way up: a latent sampled bottom up) and `forward`
  (activations computed once the walk has run, such as a re-run of the inner
  layers);
- which loss terms it reports and adds to the training loss (`loss_terms`);
- which Gaussian latents it holds below the bottleneck (`latents`; their KL
  and log-density terms are the objective's, see `ladderae.latents`).

A new kind is one subclass registered with ``@ladderae.pair_kind("name")``
(see `ladderae.pair_kinds`), with nothing else to edit.
"""

from ladderae.graph.kinds import pair_kinds
from ladderae.nn import schedules

__all__ = ["PairKind", "pair_kind"]


class PairKind:
    """Base of the pair kinds; the defaults describe a pair that adds nothing.

    Class attributes
    ----------------
    name : str
        The registered name, stored on each edge as ``pair_kind``.
    settings : dict
        ``LadderAE`` argument -> edge attribute, for the settings that may be
        given once for all pairs or as a list with one entry per pair (e.g.
        ``consistency_weight`` -> ``weight``).
    total : str or None
        Name of the reported sum of this kind's weighted losses over its pairs.
    """

    name = None
    settings = {}
    total = None
    # Capabilities, what a model may ask of a kind instead of testing its class:
    # whether its loss reads only a training pass's unlabelled rows (``COST_ROWS``), so that a batch given in
    # labelled and unlabelled parts may run its decoder on the unlabelled part alone (`ladderae.LadderNetwork`);
    unlabelled_rows_only = False
    # whether it denoises: `compared(outputs, encoder, decoder, mode)` gives (clean target, denoised estimate).
    denoises = False
    # whether it holds Gaussian latents (`latents`), whose KL terms only a variational model's objective counts:
    # a `ladderae.LadderNetwork` refuses such a kind, and the CLI does not offer it for one;
    holds_latents = False
    # whether the KL of each latent it holds is exact given the sampled layers above (its posterior is drawn after
    # the layer its prior reads, as in top-down inference); False: the objective counts a one-sample estimate
    # (`ladderae.latents.kl_per_dim`), e.g. for a latent drawn on the way up, before the layer above it.
    analytic_kl = True

    @property
    def merges(self):
        """Whether this kind changes the walk: its class overrides `merge`."""
        return type(self).merge is not PairKind.merge

    @property
    def merges_encoder(self):
        """Whether this kind changes the walk on the way up: its class overrides `merge_encoder`."""
        return type(self).merge_encoder is not PairKind.merge_encoder

    def edge_attributes(self, graph, encoder, decoder, **settings):
        """Check `settings` (edge attribute -> value) and return the attributes stored on the edge."""
        if settings:
            raise ValueError(f"Pair kind {self.name!r} takes no settings. Received: {sorted(settings)}")
        return {}

    def serialize(self, data):
        """The edge's own attributes as JSON-friendly values that `edge_attributes` accepts back.

        By default every attribute but ``kind`` and ``pair_kind``, schedules as
        their Keras config; override it where an attribute needs more.
        """
        return {key: schedules.serialize(value) if isinstance(value, schedules.Schedule) else value
                for key, value in data.items() if key not in ("kind", "pair_kind")}

    def label(self, data):
        """A short text for the pairing picture."""
        return self.name

    def make_layers(self, graph, encoder, decoder, data):
        """Extra Keras layers this pair owns, by name (built and saved with the model)."""
        return {}

    def build_layers(self, graph, encoder, decoder, layers):
        """Build the layers from `make_layers` (they see the pair's activation shape)."""

    def merge(self, network, outputs, encoder, decoder, data, context):
        """Activations that replace or join `decoder`'s in the walk, right after its layer ran (default: none).

        `outputs` holds what the walk has computed so far (the encoder side
        too, in a full pass; not when decoding from z alone, where a kind
        uses only the top-down signal). `context` is the pass's
        `ladderae.nn.context.WalkContext`: ``context.sample(name, shape)``
        gives a latent's standard-normal noise (None: use its mean),
        ``context.training`` whether it is a training pass. A kind that
        overrides this changes the forward pass (`merges`); the base one is
        never called.
        """
        return {}

    def merge_encoder(self, network, outputs, encoder, decoder, data, context):
        """Activations that replace or join `encoder`'s in the walk, right after its layer ran (default: none).

        As `merge`, on the way up: the layers above `encoder` read what this
        returns under `encoder` (e.g. a latent sampled bottom up). The walk
        runs every layer from the first such node on once per sample of the
        ``iwae`` objective (`NodeNetwork.shared_below`). A kind that overrides
        this changes the forward pass (`merges_encoder`); the base one is
        never called.
        """
        return {}

    def forward(self, network, outputs, encoder, decoder, data, context):
        """Activations this pair adds to a training pass (`context`, a `WalkContext`), by name, given the plain
        walk's `outputs` (a re-run of inner layers: ``network.walk(nodes, h, context, before=outputs)``)."""
        return {}

    def latents(self, graph, encoder, decoder, data):
        """Names of the Gaussian latents this pair holds below the top ``z`` (default: none).

        Its `merge` then leaves each one's sample, posterior and prior in the
        walk's activations as `ladderae.latents` names them.
        """
        return []

    def term_names(self, encoder, decoder, data):
        """Names of the loss terms this pair reports (as metrics)."""
        return []

    def loss_terms(self, outputs, encoder, decoder, data, step):
        """``(reported terms by name, weighted contribution to the loss or None)`` for one pair."""
        return {}, None


def pair_kind(name, *, override=False):
    """Class decorator: register a `PairKind` subclass (one instance of it) under `name`."""
    register = pair_kinds.register(name, override=override)

    def decorator(cls):
        if not (isinstance(cls, type) and issubclass(cls, PairKind)):
            raise ValueError(f"@pair_kind({name!r}) decorates a subclass of ladderae.pair_kinds.PairKind. Received: {cls!r}")
        cls.name = name
        register(cls())
        return cls

    return decorator
