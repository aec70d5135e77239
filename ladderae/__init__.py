"""ladderae: layer-matched deep (variational) autoencoders on Keras 3.

A `LadderAE` is built from a networkx graph of its layers; pairing rules add
pair edges between encoder layers and their mirror decoder layers, each with a
consistency loss, a stop-gradient mode and optional tied weights.
"""

from ladderae.console import import_keras_quietly

import_keras_quietly()  # first: TensorFlow's C++ start-up lines do not reach the console (see ladderae.console)

from ladderae import data, graph, pair_kinds, plots
from ladderae.data import columns
from ladderae.nn import combinators
from ladderae.data import mnist as datasets
from ladderae import evaluation as evaluate
from ladderae.evaluation import hierarchy as evaluate_hierarchy
from ladderae.plots import hierarchy as hierarchy_plots
from ladderae.data import semi_supervised as ladder_data
from ladderae.plots import ladder as ladder_plots
from ladderae.graph import ladder as ladder_graph
from ladderae.nn import ladder_walk as ladder_network
from ladderae.nn import latents
from ladderae.nn import likelihoods
from ladderae.nn import losses
from ladderae.nn import walk as network
from ladderae.nn import objective
from ladderae.graph import pairing
from ladderae.data import pipeline
from ladderae.nn import schedules
from ladderae.nn import stop_gradient
from ladderae.plots import summaries
from ladderae.models import tabular
from ladderae.data.columns import Binary, Categorical, Numeric
from ladderae.nn.combinators import combinator
from ladderae.graph.build import GraphError
from ladderae.models.ladder_network import LadderNetwork
from ladderae.data.semi_supervised import SemiSupervisedBatches, balanced_labels
from ladderae.nn.layers import Conv2DTransposed, DenseTransposed
from ladderae.nn.losses import pair_loss
from ladderae.models.autoencoder import LadderAE
from ladderae.pair_kinds import PairKind, pair_kind
from ladderae.graph.pairing import pairing_rule, pairing_rules
from ladderae.models.saving import load_model
from ladderae.nn.schedules import Constant, Cyclical, LinearWarmup
from ladderae.data.schema import TabularSchema
from ladderae.models.tabular import ColumnLikelihood, TabularLadderAE, column_report

__version__ = "0.2.0"

__all__ = [
    "LadderAE",
    "LadderNetwork",
    "SemiSupervisedBatches",
    "balanced_labels",
    "combinator",
    "TabularLadderAE",
    "load_model",
    "TabularSchema",
    "ColumnLikelihood",
    "Numeric",
    "Categorical",
    "Binary",
    "column_report",
    "GraphError",
    "DenseTransposed",
    "Conv2DTransposed",
    "pairing_rule",
    "pairing_rules",
    "pair_kind",
    "PairKind",
    "pair_loss",
    "Constant",
    "LinearWarmup",
    "Cyclical",
    "columns",
    "combinators",
    "data",
    "datasets",
    "evaluate",
    "evaluate_hierarchy",
    "graph",
    "hierarchy_plots",
    "ladder_data",
    "ladder_graph",
    "ladder_network",
    "ladder_plots",
    "latents",
    "likelihoods",
    "losses",
    "network",
    "objective",
    "pair_kinds",
    "pairing",
    "pipeline",
    "plots",
    "schedules",
    "stop_gradient",
    "summaries",
    "tabular",
]
