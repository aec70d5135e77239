"""The training objective assembled from its terms: pure functions of tensors and layers, no model state.

``reconstruction`` and ``kl`` are in nats per example; ``neg_elbo`` is their
sum (the beta-free negative ELBO); each pair kind reports its own terms (a
consistency pair: ``pair_<e>_<d>``, unweighted, and ``consistency``, the
weighted sum over pairs). ``loss`` is what training minimises.
"""

from keras import ops

from ladderae import losses

__all__ = ["reconstruction_terms", "kl_terms", "loss_terms"]


def reconstruction_terms(likelihood, x, params):
    """(the likelihood's parts, batch means by name, with ``reconstruction`` their sum; the weighted sum).

    A likelihood made of parts (table columns) weights them in the loss
    through `term_weights`; ``reconstruction`` stays the plain sum.
    """
    terms = {name: ops.mean(value) for name, value in likelihood.nll_terms(x, params).items()}
    weights = likelihood.term_weights
    reconstruction = loss = None
    for name, value in terms.items():
        weight = weights.get(name, 1.0)
        weighted = value if weight == 1.0 else weight * value
        reconstruction = value if reconstruction is None else reconstruction + value
        loss = weighted if loss is None else loss + weighted
    terms["reconstruction"] = reconstruction
    return terms, loss


def kl_terms(mean, log_var, beta, free_bits):
    """(``kl`` in nats per example, the KL as the loss counts it: at least `free_bits` per latent dimension)."""
    kl_per_dim = losses.gaussian_kl(mean, log_var)
    kl = ops.mean(ops.sum(kl_per_dim, axis=1))
    kl_in_loss = kl
    if free_bits:
        kl_in_loss = ops.sum(ops.maximum(ops.mean(kl_per_dim, axis=0), free_bits))
    return kl, beta * kl_in_loss


def loss_terms(network, likelihood, x, outputs, step, *, beta, free_bits):
    """Every loss term of one batch by name, ``loss`` included (see the module docstring).

    `x` is the batch as the first layer reads it, `outputs` the activations of
    `network.forward`, `beta` the KL weight at `step`.
    """
    terms, loss = reconstruction_terms(likelihood, x, outputs[network.order[-1]])
    if network.variational:
        kl, kl_loss = kl_terms(outputs["z_mean"], outputs["z_log_var"], beta, free_bits)
        loss = loss + kl_loss
        terms.update(kl=kl, beta=beta, neg_elbo=terms["reconstruction"] + kl)
    pair_terms, totals, pair_loss = network.pair_terms(outputs, step)
    zero = ops.zeros((), dtype=terms["reconstruction"].dtype)
    terms.update({name: zero if value is None else value for name, value in totals.items()})
    terms.update(pair_terms)
    if pair_loss is not None:
        loss = loss + pair_loss
    terms["loss"] = loss
    return terms
