"""The graph of a Ladder network: `ladderae.graph`'s chain with a classifier on top and the noise it trains with.

`build_ladder_graph` lays out ``x, e1..eL, z`` (z: the softmax classifier of
`n_classes` units, its activation the normalised pre-activation), ``y`` (its
class probabilities, ``layer="softmax"``) and the decoder
``z_hat, dL..d1, x_hat``: ``z_hat`` is the top of the decoder, the
batch-normalised probabilities of the corrupted pass (``layer="batch_norm"``).
Neither ``y`` nor ``z_hat`` has weights. Every node says
what the Ladder network does there: ``noise_std`` on ``x`` and the encoder
nodes (the std of the Gaussian noise the corrupted pass adds to the input
and to each batch-normalised pre-activation) and ``batch_norm=True`` where
a pre-activation is batch-normalised.

Pairs are named by depth: 0 is ``(x, x_hat)``, i is ``(e_i, d_i)`` and
L+1 is ``(z, z_hat)`` (the Gamma-model keeps only that one). A pair joins an
encoder-side node (``x``, ``e_i``, ``z``) to a decoder-side node of the same
width (``z_hat``, ``d_i``, ``x_hat``): the graph lists those roles in
``g.graph["pair_roles"]``, which `ladderae.graph.build.add_pair` checks. The
Ladder network's pairing rules (`ladder_pairing`: ``"all"``, ``"top"``,
``"none"`` or a list of depths) are rule functions of `ladderae.graph.pairing`,
kept out of its registry of `LadderAE` rules.

>>> g = build_ladder_graph(784, [100, 50], 10, noise_std=0.3)
>>> flow_order(g)
['x', 'e1', 'e2', 'z', 'y', 'z_hat', 'd2', 'd1', 'x_hat']
>>> depth_pair(g, 0), depth_pair(g, 3), g.nodes["e1"]["noise_std"]
(('x', 'x_hat'), ('z', 'z_hat'), 0.3)
>>> rule, options = ladder_pairing(g, [0, ("e2", "d2")])
>>> rule(g, **options)
[('x', 'x_hat'), ('e2', 'd2')]
"""

import math

import networkx as nx

from ladderae.checks import is_number
from ladderae.graph import pairing as pairing_lib
from ladderae.graph.build import INPUT, LATENT, OUTPUT, GraphError, build_graph, flow_order

__all__ = ["TOP", "PROBABILITIES", "PAIR_ROLES", "PAIRING_RULES", "build_ladder_graph", "depth_pair", "n_depths",
           "ladder_pairing", "every_depth", "top_depth", "at_depths"]

TOP = "z_hat"
PROBABILITIES = "y"
PAIR_ROLES = {"encoder": ("input", "encoder", "latent"), "decoder": ("decoder", "output")}  # z_hat's role: decoder


def n_depths(g):
    """How many depths can hold a pair: the input, each hidden layer and the classifier."""
    return len([n for n in g if g.nodes[n]["role"] == "encoder"]) + 2


def depth_pair(g, depth):
    """The (encoder side, decoder side) nodes at `depth`: 0 is (x, x_hat), the top is (z, z_hat)."""
    top = n_depths(g) - 1
    if isinstance(depth, bool) or not isinstance(depth, int) or not 0 <= depth <= top:
        raise GraphError(f"A Ladder pair depth is an integer from 0 (x, x_hat) to {top} (z, z_hat) (or name the "
                         f"pair by its nodes, e.g. ('e1', 'd1')). Received: {depth!r}")
    return {0: (INPUT, OUTPUT), top: (LATENT, TOP)}.get(depth, (f"e{depth}", f"d{depth}"))


def _noise_stds(noise_std, n):
    stds = [noise_std] * n if is_number(noise_std) else list(noise_std) if isinstance(noise_std, (list, tuple)) else None
    if stds is None or len(stds) != n or not all(is_number(s) and s >= 0 and math.isfinite(s) for s in stds):
        raise GraphError(
            f"`noise_std` must be a non-negative number, or a list of {n} of them (the input, each hidden layer and "
            f"the classifier), e.g. 0.3 as in the paper. Received: noise_std={noise_std!r}"
        )
    return [float(s) for s in stds]


def build_ladder_graph(input_dim, encoder, n_classes, *, noise_std=0.3, activation="relu"):
    """The Ladder network's graph (see the module docstring); `noise_std` is one std or one per depth."""
    g = build_graph((input_dim,), encoder, n_classes, variational=False, activation=activation)
    first_decoder = next(g.successors(LATENT))
    g.remove_edge(LATENT, first_decoder)
    top = {"shape": (n_classes,), "units": n_classes}
    g.add_node(PROBABILITIES, role="classifier", layer="softmax", **top)
    g.add_node(TOP, role="decoder", depth=len(encoder) + 1, layer="batch_norm", **top)
    nx.add_path(g, [LATENT, PROBABILITIES, TOP, first_decoder], kind="flow")
    g.nodes[LATENT]["activation"] = "softmax"
    stds = _noise_stds(noise_std, len(encoder) + 2)
    for node, std in zip([INPUT, *(f"e{i}" for i in range(1, len(encoder) + 1)), LATENT], stds):
        g.nodes[node]["noise_std"] = std
    for node in flow_order(g)[1:]:
        g.nodes[node]["batch_norm"] = node != PROBABILITIES
    g.graph["n_classes"] = n_classes
    g.graph["pair_roles"] = dict(PAIR_ROLES)
    return g


def every_depth(graph):
    """A pair at every depth, the input's and the classifier's included."""
    return [depth_pair(graph, depth) for depth in range(n_depths(graph))]


def top_depth(graph):
    """The classifier's pair (z, z_hat) alone: the Gamma-model."""
    return [depth_pair(graph, n_depths(graph) - 1)]


def _named(item):
    return isinstance(item, (list, tuple)) and len(item) == 2 and all(isinstance(n, str) for n in item)


def at_depths(graph, depths):
    """A pair at each of `depths` in their order, each a depth or an (encoder, decoder) node pair."""
    return [tuple(d) if _named(d) else depth_pair(graph, d) for d in depths]


PAIRING_RULES = {"all": every_depth, "top": top_depth, "none": pairing_lib.none}


def ladder_pairing(g, pairing):
    """The rule and its options for a Ladder network's `pairing`: "all", "top", None, or a list of depths or pairs."""
    if pairing is None or (isinstance(pairing, str) and pairing in PAIRING_RULES):
        return PAIRING_RULES["none" if pairing is None else pairing], {}
    if isinstance(pairing, (list, tuple)):
        return at_depths, {"depths": list(pairing)}
    raise GraphError(
        f"`pairing` must be 'all', 'top' (the Gamma-model), None, or a list of depths (0: x, {n_depths(g) - 1}: z) or "
        f"of (encoder, decoder) node pairs. Received: pairing={pairing!r}"
    )
