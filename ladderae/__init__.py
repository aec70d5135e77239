"""ladderae: layer-matched deep (variational) autoencoders on Keras 3.

A `LadderAE` is built from a networkx graph of its layers; pairing rules add
pair edges between encoder layers and their mirror decoder layers, each with a
consistency loss, a stop-gradient mode and optional tied weights.
"""

from ladderae.console import import_keras_quietly

import_keras_quietly()  # first: TensorFlow's C++ start-up lines do not reach the console (see ladderae.console)

from ladderae import (  # noqa: E402
    columns,
    combinators,
    data,
    datasets,
    evaluate,
    evaluate_hierarchy,
    graph,
    hierarchy_plots,
    ladder_data,
    ladder_plots,
    ladder_graph,
    ladder_network,
    latents,
    likelihoods,
    losses,
    network,
    objective,
    pair_kinds,
    pairing,
    pipeline,
    plots,
    schedules,
    stop_gradient,
    summaries,
    tabular,
)
from ladderae.columns import Binary, Categorical, Numeric
from ladderae.combinators import combinator
from ladderae.graph import GraphError
from ladderae.ladder import LadderNetwork
from ladderae.ladder_data import SemiSupervisedBatches, balanced_labels
from ladderae.layers import Conv2DTransposed, DenseTransposed
from ladderae.losses import pair_loss
from ladderae.model import LadderAE
from ladderae.pair_kinds import PairKind, pair_kind
from ladderae.pairing import pairing_rule, pairing_rules
from ladderae.saving import load_model
from ladderae.schedules import Constant, Cyclical, LinearWarmup
from ladderae.schema import TabularSchema
from ladderae.tabular import ColumnLikelihood, TabularLadderAE, column_report

__version__ = "0.1.0"

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
