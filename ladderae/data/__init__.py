"""Data: MNIST (`mnist`), sources of your own (`reading`, whose names this package re-exports), input pipelines,
the checks on what users pass (`inputs`), semi-supervised batches, and a table's schema and column kinds."""

from ladderae.data.reading import *  # noqa: F401,F403
from ladderae.data.reading import __all__  # noqa: F401
