"""The ``stochastic`` pair kind: a Gaussian latent z_i where the decoder meets its mirror encoder layer (Ladder VAE).

At a pair (e_i, d_i) below the top, the bottom-up estimate (mu_hat_i,
sigma_hat_i) comes from e_i and the top-down prior p(z_i | z_{i+1}) = N(mu_p_i,
sigma_p_i) from d_i, each pair of parameters from one Dense layer of twice the
latent's width (``<z_i>_posterior``: [mu_hat | log sigma_hat^2], ``<z_i>_prior``:
[mu_p | log sigma_p^2]: one product instead of two and half the variables
for the optimiser, about 6% off the Ladder VAE's step); the posterior is
their precision-weighted merge (Sønderby et al. 2016). Its sample (the mean in
a deterministic pass; the prior when decoding from the top alone) replaces
d_i and continues down the decoder, through a Dense back to d_i's width when
the widths differ. The edge stores ``units``, the latent's width. The pair
at the deepest layer (e_L, d_L) is the bottleneck ``z`` itself (prior N(0, I)),
so it adds nothing. The KL terms are the objective's (`ladderae.latents`).
"""

import math

import keras
from keras import ops

from ladderae.graph import build as graph_lib
from ladderae.nn import activations
from ladderae.nn import latents as latents_lib
from ladderae.nn import losses
from ladderae.checks import is_positive_int
from ladderae.pair_kinds.base import PairKind, pair_kind

__all__ = ["Stochastic"]


def _is_top(graph, decoder):
    return graph_lib.flow_predecessor(graph, decoder) == graph_lib.LATENT


def flat(h):
    """`h` as rows of features (a feature map flattened), what a latent's Dense layers read."""
    return ops.reshape(h, (-1, math.prod(h.shape[1:]))) if len(h.shape) > 2 else h


def gaussian(layer, h):
    """The (mean, log-variance) that a latent's Dense `layer` reads off the activation `h`."""
    return ops.split(layer(flat(h)), 2, axis=-1)


def draw(context, name, mean, log_var):
    """Latent `name` from N(mean, exp(log_var)) with the pass's noise; its mean in a deterministic pass."""
    noise = context.sample(name, ops.shape(mean))
    return mean if noise is None else losses.reparameterize(mean, log_var, noise)


@pair_kind("stochastic")
class Stochastic(PairKind):
    """A Gaussian latent at a mirror pair: posterior = precision-weighted merge of bottom-up and top-down."""

    title = "Stochastic"  # how an error names a pair of this kind
    meeting = "the top-down pass meets the bottom-up one"  # why it joins mirror layers
    holds_latents = True

    def edge_attributes(self, graph, encoder, decoder, units=None):
        pair = f"{self.title} pair ({encoder!r}, {decoder!r})"
        if not graph.graph["variational"]:
            raise graph_lib.GraphError(f"{pair} holds a Gaussian latent: build the model with variational=True.")
        mirror = graph_lib.mirror(graph, encoder)
        if decoder != mirror:
            raise graph_lib.GraphError(
                f"{pair}: a {self.name} pair joins an encoder layer with its decoder mirror ({mirror!r}), where "
                f"{self.meeting}. Pair ({encoder!r}, {mirror!r}) or use another pair kind."
            )
        if _is_top(graph, decoder):  # the bottleneck z is this pair's latent
            if units not in (None, graph.graph["latent_dim"]):
                raise graph_lib.GraphError(f"{pair} is the top latent z: its width is latent_dim's last entry.")
            return {}
        if units is not None and not is_positive_int(units):
            raise graph_lib.GraphError(f"{pair}: `units` must be a positive integer. Received: units={units!r}")
        return {"units": units}

    def serialize(self, data):
        return {"units": data["units"]} if "units" in data else {}

    def label(self, data):
        return f"{self.name} · {data['units']} units" if "units" in data else f"{self.name} · top z"

    def latents(self, graph, encoder, decoder, data):
        return [] if "units" not in data else [f"z{graph.nodes[encoder]['depth']}"]

    def make_layers(self, graph, encoder, decoder, data):
        if "units" not in data:
            return {}
        (name,), units = self.latents(graph, encoder, decoder, data), data["units"]
        made = {part: keras.layers.Dense(2 * units, name=f"{name}_{part}") for part in ("posterior", "prior")}
        node = graph.nodes[decoder]
        if units != node["units"]:
            made["up"] = keras.layers.Dense(node["units"], activation=activations.get(node["activation"]), name=f"{name}_up")
        return made

    def build_layers(self, graph, encoder, decoder, layers):
        width = graph.nodes[decoder]["units"]
        for part, layer in layers.items():
            layer.build((None, layers["posterior"].units // 2 if part == "up" else width))

    def latent_layers(self, network, encoder, decoder, data):
        """The pair's latent layers (by part) and its latent's name."""
        return network.pair_layers[f"{encoder}_{decoder}"], self.latents(network.graph, encoder, decoder, data)[0]

    @staticmethod
    def activation(network, layers, part, node, z):
        """What a sample z hands on at `node`: z through the `part` layer where the pair has one, in node's shape."""
        h = layers[part](z) if part in layers else z
        return ops.reshape(h, (-1, *network.graph.nodes[node]["shape"]))

    def merge(self, network, outputs, encoder, decoder, data, context):
        """z_i from the merged posterior (or the prior, without e_i); it replaces d_i's activation."""
        if "units" not in data:
            return {}
        layers, name = self.latent_layers(network, encoder, decoder, data)
        p_mean, p_log_var = gaussian(layers["prior"], outputs[decoder])
        mean, log_var = p_mean, p_log_var
        if encoder in outputs:
            mean_hat, log_var_hat = gaussian(layers["posterior"], outputs[encoder])
            mean, log_var = latents_lib.precision_weighted(mean_hat, log_var_hat, p_mean, p_log_var)
        z = draw(context, name, mean, log_var)
        return {name: z, f"{name}_mean": mean, f"{name}_log_var": log_var, f"{name}_prior_mean": p_mean,
                f"{name}_prior_log_var": p_log_var, decoder: self.activation(network, layers, "up", decoder, z)}
