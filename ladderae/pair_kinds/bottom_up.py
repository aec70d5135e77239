"""The ``bottom_up`` pair kind: a Gaussian latent z_i drawn on the way up (a hierarchical VAE, bottom-up inference).

What the Ladder VAE paper compares against (Sønderby et al. 2016; the reference
code casperkaae/LVAE, ``-modeltype VAE``): inference q(z_1 | x) q(z_2 | z_1)
... q(z_L | z_{L-1}) under the Ladder VAE's generative model, p(z_L) = N(0, I)
and p(z_i | z_{i+1}) top down. ``LadderAE(..., latent_dim=[64, 32, 16, 8, 4],
pair_kind="bottom_up")`` next to ``"stochastic"`` shows what the
precision-weighted merge of the two directions buys.

At a pair (e_i, d_i) below the top, on the way up (`merge_encoder`) a Dense
of twice the latent's width reads e_i (``<z_i>_posterior``: [mu_q | log
sigma_q^2]) and z_i's sample (its mean in a deterministic pass) replaces e_i,
through a Dense to e_i's width where the widths differ (``<z_i>_up_encoder``):
e_{i+1} reads z_i. On the way down (`merge`) ``<z_i>_prior`` reads d_i (p(z_i |
z_{i+1})), and z_i from the way up replaces d_i (through ``<z_i>_up``);
decoding from the top alone (`sample`, `decode`) draws z_i from that prior.
The activations are named as for ``stochastic`` (`ladderae.latents`), so the
objective, `ladderae.evaluate_hierarchy` and the hierarchy's methods and plots
read it unchanged. The edge stores ``units``; the deepest pair is the top z.

Its KL: p(z_i | z_{i+1}) reads a z_{i+1} drawn after z_i and from it, so the
two Gaussians' KL given the sampled z_{i+1} is biased here (``analytic_kl =
False``): the objective counts q's negative entropy minus log p(z_i | z_{i+1})
at the sample, an unbiased estimate (`ladderae.latents.kl_per_dim`).
``objective="iwae"`` with k > 1 is exact: from e_1 on, every layer runs on
each of the k copies with its own draws (`NodeNetwork.shared_below`), and the
bound's log q is that of the posterior that drew each z_i.
"""

import math

import keras
from keras import ops

from ladderae.checks import is_positive_int
from ladderae.graph import build as graph_lib
from ladderae.nn import losses
from ladderae.pair_kinds.base import PairKind, pair_kind

__all__ = ["BottomUp"]


def _flat(h):
    return ops.reshape(h, (-1, math.prod(h.shape[1:]))) if len(h.shape) > 2 else h


@pair_kind("bottom_up")
class BottomUp(PairKind):
    """A Gaussian latent at a mirror pair: posterior from e_i alone, sampled on the way up; prior from d_i."""

    analytic_kl = False

    def edge_attributes(self, graph, encoder, decoder, units=None):
        pair = f"Bottom-up pair ({encoder!r}, {decoder!r})"
        if not graph.graph["variational"]:
            raise graph_lib.GraphError(f"{pair} holds a Gaussian latent: build the model with variational=True.")
        mirror = graph_lib.mirror(graph, encoder)
        if decoder != mirror:
            raise graph_lib.GraphError(
                f"{pair}: a bottom_up pair joins an encoder layer with its decoder mirror ({mirror!r}), where the "
                f"latent's prior from the layer above meets its posterior sample. Pair ({encoder!r}, {mirror!r}) or "
                "use another pair kind."
            )
        if graph_lib.flow_predecessor(graph, decoder) == graph_lib.LATENT:  # the bottleneck z is this pair's latent
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
        for part, node in (("up_encoder", graph.nodes[encoder]), ("up", graph.nodes[decoder])):
            if units != node["units"]:  # z_i back to the width of the node it replaces
                made[part] = keras.layers.Dense(node["units"], activation=node["activation"], name=f"{name}_{part}")
        return made

    def build_layers(self, graph, encoder, decoder, layers):
        if not layers:  # the top pair: the bottleneck z, no layers of its own
            return
        units = layers["posterior"].units // 2
        reads = {"posterior": encoder, "prior": decoder}
        for part, layer in layers.items():
            layer.build((None, units if part in ("up", "up_encoder") else graph.nodes[reads[part]]["units"]))

    def _to(self, network, layers, part, node, z):
        h = layers[part](z) if part in layers else z
        return ops.reshape(h, (-1, *network.graph.nodes[node]["shape"]))

    def merge_encoder(self, network, outputs, encoder, decoder, data, context):
        """z_i from q(z_i | e_i): its sample (or mean) replaces e_i's activation on the way up."""
        if "units" not in data:
            return {}
        layers = network.pair_layers[f"{encoder}_{decoder}"]
        (name,) = self.latents(network.graph, encoder, decoder, data)
        mean, log_var = ops.split(layers["posterior"](_flat(outputs[encoder])), 2, axis=-1)
        noise = context.sample(name, (ops.shape(mean)[0], data["units"]))
        z = mean if noise is None else losses.reparameterize(mean, log_var, noise)
        return {name: z, f"{name}_mean": mean, f"{name}_log_var": log_var,
                encoder: self._to(network, layers, "up_encoder", encoder, z)}

    def merge(self, network, outputs, encoder, decoder, data, context):
        """p(z_i | z_{i+1}) from d_i; z_i from the way up (or from that prior, without it) replaces d_i."""
        if "units" not in data:
            return {}
        layers = network.pair_layers[f"{encoder}_{decoder}"]
        (name,) = self.latents(network.graph, encoder, decoder, data)
        p_mean, p_log_var = ops.split(layers["prior"](_flat(outputs[decoder])), 2, axis=-1)
        priors = {f"{name}_prior_mean": p_mean, f"{name}_prior_log_var": p_log_var}
        if name in outputs:  # a full pass: the posterior sample drawn on the way up
            return {**priors, decoder: self._to(network, layers, "up", decoder, outputs[name])}
        noise = context.sample(name, (ops.shape(p_mean)[0], data["units"]))
        z = p_mean if noise is None else losses.reparameterize(p_mean, p_log_var, noise)
        return {name: z, f"{name}_mean": p_mean, f"{name}_log_var": p_log_var, **priors,
                decoder: self._to(network, layers, "up", decoder, z)}
