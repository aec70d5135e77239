"""The architecture as a networkx graph, no Keras: building it (`build`), pairing rules (`pairing`), the Ladder
network's graph (`ladder`), and the registry the pair kinds fill (`kinds`). Its names are `build`'s."""

from ladderae.graph.build import *  # noqa: F401,F403
from ladderae.graph.build import __all__  # noqa: F401
