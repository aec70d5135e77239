"""Pictures: a model's figures (`figures`, whose names this package re-exports), a hierarchy's, a Ladder network's,
and TensorBoard summaries."""

from ladderae.plots.figures import *  # noqa: F401,F403
from ladderae.plots.figures import __all__  # noqa: F401
