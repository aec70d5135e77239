"""A model's Gaussian latents as a hierarchy (the Ladder VAE): widths, the precision-weighted merge, per-layer KL.

A model's latents are those its pair kinds hold (a ``stochastic`` pair at
depth i holds ``z<i>``), from the input side, then the bottleneck ``z`` at
the top, whose prior is N(0, I). In a walk, a lower latent ``name`` leaves
``name`` (its sample, or its mean in a deterministic pass), ``name_mean`` and
``name_log_var`` (the posterior q) and ``name_prior_mean`` and
``name_prior_log_var`` (the top-down prior p(z_i | z_{i+1})); a ``bottom_up``
pair draws z_i on the way up, from e_i alone, under the same prior (its KL
term: `kl_per_dim`). `latent_dim` lists the widths the same way: one per
stochastic pair below the top, the top last (``[64, 32, 16, 8, 4]``).
"""

import math

from keras import ops

from ladderae.graph import build as graph_lib
from ladderae.graph import kinds as kind_registry
from ladderae.nn import losses
from ladderae.checks import check_non_negative, is_number, is_positive_int

__all__ = ["precision_weighted", "gaussian_kl", "sampled_kl", "split_latent_dim", "assign_widths", "check_free_bits", "parts",
           "kl_per_dim", "log_ratio", "term_names", "widths"]


def precision_weighted(mean_hat, log_var_hat, mean_p, log_var_p):
    """(mean, log_var) of the normalised product of N(mean_hat, var_hat) and N(mean_p, var_p).

    sigma_q^2 = 1 / (sigma_hat^-2 + sigma_p^-2) and mu_q = (mu_hat sigma_hat^-2
    + mu_p sigma_p^-2) sigma_q^2, written with a logaddexp and sigmoids so that
    no precision is formed (stable for any log-variances).
    """
    log_var = -ops.logaddexp(-log_var_hat, -log_var_p)
    weight_hat = ops.sigmoid(log_var_p - log_var_hat)  # sigma_hat^-2 / (sigma_hat^-2 + sigma_p^-2)
    return weight_hat * mean_hat + (1.0 - weight_hat) * mean_p, log_var


def gaussian_kl(mean, log_var, prior_mean=None, prior_log_var=None):
    """KL(N(mean, exp(log_var)) || N(prior_mean, exp(prior_log_var))) per dimension; N(0, 1) where the prior is None."""
    if prior_mean is None:
        return losses.gaussian_kl(mean, log_var)
    return 0.5 * (prior_log_var - log_var + (ops.exp(log_var) + ops.square(mean - prior_mean))
                  * ops.exp(-prior_log_var) - 1.0)


def split_latent_dim(latent_dim):
    """(the top's width, the lower widths from the input side, or None when `latent_dim` is one int)."""
    if not isinstance(latent_dim, (list, tuple)):
        return latent_dim, None  # build_graph checks it
    widths = list(latent_dim)
    if not widths or not all(is_positive_int(w) for w in widths):
        raise graph_lib.GraphError(
            "`latent_dim` must be a positive integer or a non-empty list of them: one width per stochastic pair "
            f"from the input side, the top latent last (e.g. [64, 32, 16, 8, 4]). Received: latent_dim={latent_dim!r}"
        )
    return widths[-1], widths[:-1]


def _holders(graph):
    """The pair edges whose kind holds a latent below the top, from the input side."""
    return [(e, d, data) for e, d, data in graph_lib.pairs(graph)
            if kind_registry.get(data["pair_kind"]).latents(graph, e, d, data)]


def assign_widths(graph, lower, latent_dim):
    """Store each lower latent's width on its pair edge (``units``) from `lower` (see `split_latent_dim`).

    A pair given its width explicitly (a saved model's pairs) keeps it; the
    count of `latent_dim` must match the pairs that hold a latent.
    """
    holders = _holders(graph)
    if lower is None:  # one int: only pairs that carry their width explicitly
        if all(data["units"] is not None for *_, data in holders):
            return
        lower = []
    if len(lower) != len(holders) or any(data["units"] not in (None, width)
                                         for (*_, data), width in zip(holders, lower)):
        where = ", ".join(f"({e}, {d})" for e, d, _ in holders) or "none"
        raise graph_lib.GraphError(
            f"`latent_dim` lists one width per stochastic pair below the top, then the top latent z: the pairing "
            f"gives {len(holders)} such pairs ({where}), so give {len(holders) + 1} widths, the top last"
            f"{' (or one int)' if not holders else ''}. Received: latent_dim={latent_dim!r}"
        )
    for (*_, data), width in zip(holders, lower):
        data["units"] = width


def check_free_bits(free_bits, n_latents):
    """`free_bits` as one non-negative number for every latent, or a list of one per latent (the top last)."""
    if not isinstance(free_bits, (list, tuple)):
        return check_non_negative("free_bits", free_bits)
    values = list(free_bits)
    bad = [i for i, v in enumerate(values) if not is_number(v) or not math.isfinite(v) or v < 0]
    if len(values) != n_latents or bad:
        where = f"free_bits[{bad[0]}]={values[bad[0]]!r}" if bad else f"{len(values)} entries"
        raise ValueError(
            f"`free_bits` must be one finite non-negative number (nats per latent dimension), or a list of one per "
            f"latent layer ({n_latents} here, the top last). Received: {where} (free_bits={free_bits!r})"
        )
    return [float(v) for v in values]


def parts(network, outputs):
    """(name, z, q mean, q log_var, p mean, p log_var) for each latent, the top ``z`` last with p None (N(0, I))."""
    lower = [(name, outputs[name], outputs[f"{name}_mean"], outputs[f"{name}_log_var"],
              outputs[f"{name}_prior_mean"], outputs[f"{name}_prior_log_var"]) for name in network.latents]
    top = graph_lib.LATENT
    return lower + [(top, outputs[top], outputs["z_mean"], outputs["z_log_var"], None, None)]


def sampled_kl(z, mean, log_var, prior_mean, prior_log_var):
    """log q(z) - log p(z) per dimension with q's log-density replaced by its expectation, the negative entropy:
    an unbiased one-sample estimate of E_q[log q - log p] where p depends on z's sample (see `kl_per_dim`)."""
    return 0.5 * (prior_log_var - log_var - 1.0 + ops.square(z - prior_mean) * ops.exp(-prior_log_var))


def _sampled_kl_latents(network):
    """The latents whose kind says their KL given the sampled layers above is not exact (`PairKind.analytic_kl`)."""
    return {name for kind, (e, d, data) in zip(network.kinds, network.pairs) if not kind.analytic_kl
            for name in kind.latents(network.graph, e, d, data)}


def kl_per_dim(network, outputs):
    """{latent name: KL(q || p) per example and dimension}, the top last.

    Analytic given the sampled layers above, where q(z_i | ...) is drawn after
    the z_{i+1} its prior reads (top-down inference). A latent drawn before
    it (bottom-up inference: z_{i+1} depends on z_i's sample) counts
    `sampled_kl` at its sample instead: E_q[log q(z_i) - log p(z_i | z_{i+1})],
    estimated without bias (a row may be negative; the sum over layers is the
    hierarchy's KL in expectation), where the two Gaussians' KL would not be.
    """
    sampled = _sampled_kl_latents(network)
    return {name: sampled_kl(z, mean, log_var, p_mean, p_log_var) if name in sampled
            else gaussian_kl(mean, log_var, p_mean, p_log_var)
            for name, z, mean, log_var, p_mean, p_log_var in parts(network, outputs)}


def log_ratio(network, outputs):
    """log p(z_1..z_L) - log q(z_1..z_L | x) per row, summed over the latents at their sampled values."""
    total = None
    for _, z, mean, log_var, p_mean, p_log_var in parts(network, outputs):
        value = losses.gaussian_log_density(z, p_mean, p_log_var) - losses.gaussian_log_density(z, mean, log_var)
        total = value if total is None else total + value
    return total


def term_names(network):
    """The per-layer KL terms a hierarchy reports (``kl_z1``, ..., ``kl_z``); none for one latent."""
    return [f"kl_{name}" for name in (*network.latents, graph_lib.LATENT)] if network.latents else []


def widths(network):
    """{latent name: width}, the top ``z`` first (the order of a top-down draw); a latent's pair stores ``units``."""
    found = {graph_lib.LATENT: network.graph.graph["latent_dim"]}
    for kind, (e, d, data) in reversed(list(zip(network.kinds, network.pairs))):
        found.update({name: data["units"] for name in kind.latents(network.graph, e, d, data)})
    return found
