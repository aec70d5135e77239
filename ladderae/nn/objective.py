"""The training objective assembled from its terms: pure functions of tensors and layers, no model state.

``reconstruction`` and ``kl`` are in nats per example (``kl`` summed over
every latent layer of a hierarchy, which also reports ``kl_<latent>`` per
layer); ``neg_elbo`` is their sum (the beta-free negative ELBO); each pair kind reports its own terms (a
consistency pair: ``pair_<e>_<d>``, unweighted, and ``consistency``, the
weighted sum over pairs). ``loss`` is what training minimises.

Two objectives: ``elbo`` (the negative ELBO, analytic KL) and ``iwae``
(Burda et al. 2016): k posterior samples per example and the importance-
weighted bound -log (1/k) sum_s p(x, z_s) / q(z_s | x), which equals the ELBO
in expectation at k=1 and tightens as k grows. Its activations are the k
samples stacked sample-major (rows s*B..(s+1)*B-1 hold sample s of the batch),
so pair terms are computed on the same activations the bound uses.
"""

import math

from keras import ops

from ladderae.graph import build as graph
from ladderae.nn import latents

__all__ = ["OBJECTIVES", "reconstruction_terms", "kl_terms", "iwae_bound", "loss_terms"]

OBJECTIVES = ("elbo", "iwae")


def reconstruction_terms(likelihood, parts):
    """(the likelihood's parts, batch means by name, with ``reconstruction`` their sum; the weighted sum).

    `parts` are the per-example terms of `likelihood.nll_terms`. A likelihood
    made of parts (table columns) weights them in the loss through
    `term_weights`; ``reconstruction`` stays the plain sum.
    """
    terms = {name: ops.mean(value) for name, value in parts.items()}
    weights = likelihood.term_weights
    reconstruction = loss = None
    for name, value in terms.items():
        weight = weights.get(name, 1.0)
        weighted = value if weight == 1.0 else weight * value
        reconstruction = value if reconstruction is None else reconstruction + value
        loss = weighted if loss is None else loss + weighted
    terms["reconstruction"] = reconstruction
    return terms, loss


def _floored_kl(kl_per_dim, free_bits):
    """(KL in nats per example, the KL as the loss counts it: at least `free_bits` per latent dimension)."""
    kl = ops.mean(ops.sum(kl_per_dim, axis=1))
    if free_bits:
        return kl, ops.sum(ops.maximum(ops.mean(kl_per_dim, axis=0), free_bits))
    return kl, kl


def kl_terms(network, outputs, beta, free_bits):
    """({latent: its KL}, ``kl`` summed over the latents, the KL as the loss counts it) for every latent.

    Each layer's KL is analytic given the sampled layers above it (a one-
    sample estimate of the hierarchy's KL), or sampled where a kind draws its
    latent before the layer above (`ladderae.latents.kl_per_dim`); `free_bits`
    is one floor for all latents or one per latent, the top last.
    """
    per_dim = latents.kl_per_dim(network, outputs)
    floors = free_bits if isinstance(free_bits, (list, tuple)) else [free_bits] * len(per_dim)
    per_layer, kl, kl_in_loss = {}, 0.0, 0.0
    for (name, values), floor in zip(per_dim.items(), floors):
        per_layer[name], floored = _floored_kl(values, floor)
        kl, kl_in_loss = kl + per_layer[name], kl_in_loss + floored
    return per_layer, kl, beta * kl_in_loss


def iwae_bound(log_px, log_ratio, k, beta=1.0):
    """-log (1/k) sum_s w_s per example (shape (batch,)), log w_s = log p(x | z_s) + beta * log (p(z_s) / q(z_s | x)).

    The rows hold k samples of the batch, sample-major; beta < 1 anneals the
    prior and posterior terms as KL warm-up does in the ELBO.
    """
    log_w = ops.reshape(log_px + beta * log_ratio, (k, -1))
    return -(ops.logsumexp(log_w, axis=0) - math.log(k))


def loss_terms(network, likelihood, x, outputs, step, *, beta, free_bits, objective="elbo", k=1):
    """Every loss term of one batch by name, ``loss`` included (see the module docstring).

    `x` is the batch as the first layer reads it, `outputs` the activations of
    `network.forward` (for ``iwae``: over the batch repeated k times), `beta`
    the KL weight at `step`. The ``iwae`` objective reports ``neg_iwae``, the
    k-sample bound, besides the ELBO's terms averaged over its k samples.
    """
    if objective == "iwae":
        x = ops.concatenate([x] * k, axis=0) if k > 1 else x
    parts = likelihood.nll_terms(x, outputs[graph.OUTPUT])  # per example; nll is their sum
    terms, loss = reconstruction_terms(likelihood, parts)
    if network.variational:
        per_layer, kl, kl_loss = kl_terms(network, outputs, beta, free_bits)
        terms.update(kl=kl, beta=beta, neg_elbo=terms["reconstruction"] + kl)
        if network.latents:  # a hierarchy reports each layer's KL
            terms.update({f"kl_{name}": value for name, value in per_layer.items()})
        if objective == "iwae":
            log_px = -sum(parts.values())  # the NLL computed above, per example: no second pass through it
            log_ratio = latents.log_ratio(network, outputs)  # log p(z) - log q(z | x) over every latent
            loss = ops.mean(iwae_bound(log_px, log_ratio, k, beta))
            terms["neg_iwae"] = ops.mean(iwae_bound(log_px, log_ratio, k))
        else:
            loss = loss + kl_loss
    pair_terms, totals, pair_loss = network.pair_terms(outputs, step)
    zero = ops.zeros((), dtype=terms["reconstruction"].dtype)
    terms.update({name: zero if value is None else value for name, value in totals.items()})
    terms.update(pair_terms)
    if pair_loss is not None:
        loss = loss + pair_loss
    terms["loss"] = loss
    return terms
