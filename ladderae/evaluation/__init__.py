"""Numbers that mean what they mean in the papers: the ELBO, the IWAE bound, active units and probes for one
latent (`scores`), all in one dict (`reporting.report`); the names of both are this package's, over a hierarchy (`hierarchy`), in bounded memory."""

from ladderae.evaluation.reporting import report
from ladderae.evaluation.scores import (ACTIVE_THRESHOLD, active_units, elbo, iwae_nll, knn_accuracy, linear_probe,
                                        pair_residuals)

__all__ = ["elbo", "iwae_nll", "active_units", "linear_probe", "knn_accuracy", "pair_residuals", "report",
           "ACTIVE_THRESHOLD"]
