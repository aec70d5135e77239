"""ladderae: layer-matched deep (variational) autoencoders on Keras 3.

A `LadderAE` is built from a networkx graph of its layers; pairing rules add
pair edges between encoder layers and their mirror decoder layers, each with a
consistency loss, a stop-gradient mode and optional tied weights.
"""

from ladderae import datasets, evaluate, graph, likelihoods, losses, pairing, pipeline, plots, schedules, stop_gradient
from ladderae.graph import GraphError
from ladderae.layers import DenseTransposed
from ladderae.losses import pair_loss
from ladderae.model import LadderAE
from ladderae.pairing import pairing_rule, pairing_rules
from ladderae.schedules import Constant, Cyclical, LinearWarmup

__version__ = "0.1.0"

__all__ = [
    "LadderAE",
    "GraphError",
    "DenseTransposed",
    "pairing_rule",
    "pairing_rules",
    "pair_loss",
    "Constant",
    "LinearWarmup",
    "Cyclical",
    "datasets",
    "evaluate",
    "graph",
    "likelihoods",
    "losses",
    "pairing",
    "pipeline",
    "plots",
    "schedules",
    "stop_gradient",
]
