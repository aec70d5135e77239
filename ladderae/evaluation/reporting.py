"""`report`: every figure of `ladderae.evaluation.scores` for one model in one dict; a hierarchy of latents (a Ladder
VAE) scored over all its layers by `ladderae.evaluation.hierarchy`."""

import numpy as np

from ladderae.checks import check_positive_int, check_rows
from ladderae.evaluation import hierarchy as evaluate_hierarchy
from ladderae.evaluation.scores import active_units, elbo, iwae_nll, knn_accuracy, linear_probe, pair_residuals
from ladderae.nn import latents

__all__ = ["report"]


def _is_hierarchy(model):
    """Whether `model` holds latents below its bottleneck (a Ladder VAE), which only a walk over every layer scores."""
    return bool(getattr(getattr(model, "network", None), "latents", None))


def _one_latent_scores(model, x, x_iwae, k, seed, verbose):
    """-ELBO with its parts, the IWAE bound on `x_iwae` and the active units of a model with one latent z."""
    out = dict(elbo(model, x, seed=seed))
    out["iwae_nll"] = float(np.mean(iwae_nll(model, x_iwae, k=k, seed=seed, verbose=verbose)))
    n_active, variances = active_units(model, x)
    return {**out, "active_units": n_active, "latent_dim": len(variances)}


def _hierarchy_scores(model, x, x_iwae, k, seed, verbose):
    """The same figures over every latent layer (`ladderae.evaluate_hierarchy`), with ``kl_<latent>`` and
    ``active_units_<latent>`` per layer; ``active_units`` and ``latent_dim`` are the sums over the layers."""
    out = dict(evaluate_hierarchy.elbo(model, x, seed=seed))
    out["iwae_nll"] = float(np.mean(evaluate_hierarchy.iwae_nll(model, x_iwae, k=k, seed=seed, verbose=verbose)))
    active = evaluate_hierarchy.active_units(model, x)
    out.update({f"active_units_{name}": n for name, n in active.items()})
    return {**out, "active_units": sum(active.values()), "latent_dim": sum(latents.widths(model.network).values())}


def _codes(model, x):
    """What the probes read: the posterior means of z, or of every layer side by side for a hierarchy."""
    if _is_hierarchy(model):
        return np.concatenate([np.asarray(v) for v in model.encode(x).values()], axis=1)
    return model.posterior(x)[0]


def report(model, x_test, y_test=None, x_train=None, y_train=None, k=5000, iwae_images=None, seed=0, verbose=1):
    """Every figure above for one model, as a flat dict (IWAE over the first `iwae_images` test images).

    Works for any model with `posterior(x)` and `log_px_given_z(x, z)` (and
    `pairs`/`activations` for pair residuals), not only LadderAE. A hierarchy
    of latents (a Ladder VAE, whose x depends on every layer) is scored with
    `ladderae.evaluate_hierarchy` over all its layers instead, adding
    ``kl_<latent>`` and ``active_units_<latent>`` per layer; its probes read
    every layer's posterior means.
    """
    x_test = check_rows("x_test", x_test)
    probes = {"y_test": y_test, "x_train": x_train, "y_train": y_train}
    missing = [name for name, value in probes.items() if value is None]
    if 0 < len(missing) < len(probes):  # the probes need all three; some given means they were meant to run
        raise ValueError(f"The probes read y_test, x_train and y_train together: pass {', '.join(missing)} too, or "
                         "none of the three to skip the probes.")
    n_iwae = len(x_test) if iwae_images is None else min(check_positive_int("iwae_images", iwae_images), len(x_test))
    scores = _hierarchy_scores if _is_hierarchy(model) else _one_latent_scores
    out = scores(model, x_test, x_test[:n_iwae], k, seed, verbose)
    out.update(iwae_k=k, iwae_images=n_iwae)
    if not missing:
        train_codes, test_codes = _codes(model, x_train), _codes(model, x_test)
        out["linear_probe_accuracy"] = linear_probe(train_codes, y_train, test_codes, y_test)
        out["knn_accuracy"] = knn_accuracy(train_codes, y_train, test_codes, y_test)
    if getattr(model, "pairs", None):
        out.update(pair_residuals(model, x_test))
    return out
