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


import keras

from ladderae.nn import activations
from ladderae.pair_kinds.base import pair_kind
from ladderae.pair_kinds.stochastic import Stochastic, draw, gaussian

__all__ = ["BottomUp"]


@pair_kind("bottom_up")
class BottomUp(Stochastic):
    """A Gaussian latent at a mirror pair: posterior from e_i alone, sampled on the way up; prior from d_i."""

    analytic_kl = False

    title = "Bottom-up"
    meeting = "the latent's prior from the layer above meets its posterior sample"

    def make_layers(self, graph, encoder, decoder, data):
        """`Stochastic`'s layers, and z_i back to e_i's width where they differ (it replaces e_i on the way up)."""
        made = super().make_layers(graph, encoder, decoder, data)
        node = graph.nodes[encoder]
        if made and data["units"] != node["units"]:
            (name,) = self.latents(graph, encoder, decoder, data)
            made["up_encoder"] = keras.layers.Dense(node["units"], activation=activations.get(node["activation"]),
                                                    name=f"{name}_up_encoder")
        return made

    def build_layers(self, graph, encoder, decoder, layers):
        if not layers:  # the top pair: the bottleneck z, no layers of its own
            return
        units = layers["posterior"].units // 2
        reads = {"posterior": encoder, "prior": decoder}
        for part, layer in layers.items():
            layer.build((None, units if part in ("up", "up_encoder") else graph.nodes[reads[part]]["units"]))

    def merge_encoder(self, network, outputs, encoder, decoder, data, context):
        """z_i from q(z_i | e_i): its sample (or mean) replaces e_i's activation on the way up."""
        if "units" not in data:
            return {}
        layers, name = self.latent_layers(network, encoder, decoder, data)
        mean, log_var = gaussian(layers["posterior"], outputs[encoder])
        z = draw(context, name, mean, log_var)
        return {name: z, f"{name}_mean": mean, f"{name}_log_var": log_var,
                encoder: self.activation(network, layers, "up_encoder", encoder, z)}

    def merge(self, network, outputs, encoder, decoder, data, context):
        """p(z_i | z_{i+1}) from d_i; z_i from the way up (or from that prior, without it) replaces d_i."""
        if "units" not in data:
            return {}
        layers, name = self.latent_layers(network, encoder, decoder, data)
        p_mean, p_log_var = gaussian(layers["prior"], outputs[decoder])
        priors = {f"{name}_prior_mean": p_mean, f"{name}_prior_log_var": p_log_var}
        if name in outputs:  # a full pass: the posterior sample drawn on the way up
            return {**priors, decoder: self.activation(network, layers, "up", decoder, outputs[name])}
        z = draw(context, name, p_mean, p_log_var)
        return {name: z, f"{name}_mean": p_mean, f"{name}_log_var": p_log_var, **priors,
                decoder: self.activation(network, layers, "up", decoder, z)}
