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
L+1 is ``(z, z_hat)`` (the Gamma-model keeps only that one).

>>> g = build_ladder_graph(784, [100, 50], 10, noise_std=0.3)
>>> flow_order(g)
['x', 'e1', 'e2', 'z', 'y', 'z_hat', 'd2', 'd1', 'x_hat']
>>> depth_pair(g, 0), depth_pair(g, 3), g.nodes["e1"]["noise_std"]
(('x', 'x_hat'), ('z', 'z_hat'), 0.3)
"""

import math

import networkx as nx

from ladderae.checks import is_number
from ladderae.graph.build import INPUT, LATENT, OUTPUT, GraphError, build_graph, flow_order, kind_attributes, shape_text

__all__ = ["TOP", "PROBABILITIES", "build_ladder_graph", "depth_pair", "add_ladder_pair", "n_depths"]

TOP = "z_hat"
PROBABILITIES = "y"


def n_depths(g):
    """How many depths can hold a pair: the input, each hidden layer and the classifier."""
    return len([n for n in g if g.nodes[n]["role"] == "encoder"]) + 2


def depth_pair(g, depth):
    """The (encoder side, decoder side) nodes at `depth`: 0 is (x, x_hat), the top is (z, z_hat)."""
    top = n_depths(g) - 1
    if isinstance(depth, bool) or not isinstance(depth, int) or not 0 <= depth <= top:
        raise GraphError(
            f"A Ladder pair depth is an integer from 0 (x, x_hat) to {top} (z, z_hat). Received: {depth!r}"
        )
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
    return g


def add_ladder_pair(g, encoder, decoder, kind, **settings):
    """Add a pair edge of pair kind `kind` between any encoder-side and decoder-side nodes of equal shape."""
    pair = f"Pair ({encoder!r}, {decoder!r})"
    sides = {"encoder": [INPUT, *(n for n in g if g.nodes[n]["role"] == "encoder"), LATENT],
             "decoder": [n for n in g if g.nodes[n]["role"] == "decoder"] + [OUTPUT]}
    for node, side in ((encoder, "encoder"), (decoder, "decoder")):
        if node not in sides[side]:
            raise GraphError(f"{pair}: {node!r} is not on the {side} side. {side.capitalize()} side: "
                             f"{', '.join(sides[side])}.")
    e_shape, d_shape = g.nodes[encoder]["shape"], g.nodes[decoder]["shape"]
    if e_shape != d_shape:
        raise GraphError(f"{pair} joins layers of different widths ({shape_text(e_shape)} vs {shape_text(d_shape)}): "
                         "pair each layer with its mirror (same depth).")
    g.add_edge(encoder, decoder, **kind_attributes(g, encoder, decoder, kind, settings))
