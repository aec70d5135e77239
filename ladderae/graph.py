"""The architecture as a `networkx.DiGraph`: the single source of truth for a model.

`build_graph` lays out the input ``x``, encoder layers ``e1..eL``, the
bottleneck ``z``, the mirror decoder layers ``dL..d1`` and the output
``x_hat`` joined by *flow* edges (``kind="flow"``). Each node stands for the
activation that its layer produces and carries that layer's description
(``role``, ``units``, ``activation``, ``depth``). Pairing rules then add
*pair* edges (``kind="pair"``) from an encoder node to a decoder node of the
same width, carrying ``weight`` (a schedule), ``loss``, ``stop_gradient`` and
``tied``. `ladderae.LadderAE` creates one Keras layer per node and runs them
in topological order of the flow edges.

>>> g = build_graph((784,), [512, 256], 32)
>>> flow_order(g)
['x', 'e1', 'e2', 'z', 'd2', 'd1', 'x_hat']
>>> g.nodes["d1"]["units"], mirror(g, "e2")
(512, 'd2')
"""

import math

import networkx as nx

from ladderae import losses, schedules, stop_gradient

__all__ = [
    "GraphError",
    "build_graph",
    "flow_order",
    "flow_predecessor",
    "flow_successor",
    "encoder_nodes",
    "decoder_nodes",
    "mirror",
    "add_pair",
    "pairs",
    "tied_source",
    "inner_nodes",
    "graphs_equal",
]

INPUT, OUTPUT, LATENT = "x", "x_hat", "z"


class GraphError(ValueError):
    """A graph or pair that cannot be built into a model; the message names the fix."""


def _check_sizes(name, sizes):
    if isinstance(sizes, int) or not hasattr(sizes, "__iter__"):
        raise GraphError(f"`{name}` must be a list of layer widths such as [512, 256]. Received: {name}={sizes!r}")
    sizes = list(sizes)
    if not sizes or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise GraphError(
            f"`{name}` must be a non-empty list of positive integers such as [512, 256]. Received: {name}={sizes!r}"
        )
    return sizes


def build_graph(input_shape, encoder, latent_dim, *, variational=True, activation="relu"):
    """Lay out input, encoder, bottleneck, mirror decoder and output as flow edges.

    Parameters
    ----------
    input_shape : tuple of int
        Shape of one example, e.g. ``(784,)`` or ``(28, 28)``; it is flattened.
    encoder : list of int
        Widths of the encoder layers e1..eL; the decoder mirrors them.
    latent_dim : int
        Width of the bottleneck z.
    """
    input_shape = tuple(_check_sizes("input_shape", input_shape))
    encoder = _check_sizes("encoder", encoder)
    if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim < 1:
        raise GraphError(f"`latent_dim` must be a positive integer. Received: latent_dim={latent_dim!r}")

    g = nx.DiGraph(input_shape=input_shape, latent_dim=latent_dim, variational=bool(variational))
    g.add_node(INPUT, role="input", units=math.prod(input_shape))
    previous = INPUT
    for depth, units in enumerate(encoder, start=1):
        node = f"e{depth}"
        g.add_node(node, role="encoder", depth=depth, units=units, activation=activation)
        g.add_edge(previous, node, kind="flow")
        previous = node
    g.add_node(LATENT, role="latent", units=latent_dim, variational=bool(variational))
    g.add_edge(previous, LATENT, kind="flow")
    previous = LATENT
    for depth in range(len(encoder), 0, -1):
        node = f"d{depth}"
        g.add_node(node, role="decoder", depth=depth, units=encoder[depth - 1], activation=activation)
        g.add_edge(previous, node, kind="flow")
        previous = node
    g.add_node(OUTPUT, role="output", units=math.prod(input_shape))
    g.add_edge(previous, OUTPUT, kind="flow")
    return g


def _flow_view(g):
    return nx.subgraph_view(g, filter_edge=lambda u, v: g.edges[u, v]["kind"] == "flow")


def flow_order(g):
    """Node names in the order their layers run."""
    return list(nx.topological_sort(_flow_view(g)))


def _only(nodes, node, direction):
    nodes = list(nodes)
    if len(nodes) != 1:
        raise GraphError(f"Node {node!r} has {len(nodes)} flow {direction}s; ladderae graphs are chains.")
    return nodes[0]


def flow_predecessor(g, node):
    return _only(_flow_view(g).predecessors(node), node, "predecessor")


def flow_successor(g, node):
    return _only(_flow_view(g).successors(node), node, "successor")


def _nodes_with_role(g, role):
    return [n for n in flow_order(g) if g.nodes[n]["role"] == role]


def encoder_nodes(g):
    """Encoder nodes from the input side: e1, e2, ..."""
    return _nodes_with_role(g, "encoder")


def decoder_nodes(g):
    """Decoder nodes from the bottleneck side: dL, ..., d1."""
    return _nodes_with_role(g, "decoder")


def mirror(g, node):
    """The decoder node at the same depth as encoder `node` (and vice versa)."""
    data = g.nodes[node]
    other = {"encoder": "decoder", "decoder": "encoder"}.get(data["role"])
    if other is None:
        raise GraphError(f"Only encoder and decoder nodes have mirrors. Received: node={node!r}")
    return next(n for n in _nodes_with_role(g, other) if g.nodes[n]["depth"] == data["depth"])


def inner_nodes(g, encoder_node, decoder_node):
    """The nodes whose layers run strictly after `encoder_node` up to and including `decoder_node`."""
    order = flow_order(g)
    return order[order.index(encoder_node) + 1 : order.index(decoder_node) + 1]


def add_pair(g, encoder_node, decoder_node, *, weight=1.0, loss="mse", mode="none", tied=False):
    """Add a validated pair edge; every error names the pair and the way out."""
    pair = f"({encoder_node!r}, {decoder_node!r})"
    for node, role in ((encoder_node, "encoder"), (decoder_node, "decoder")):
        if node not in g or g.nodes[node]["role"] != role:
            known = ", ".join(_nodes_with_role(g, role))
            raise GraphError(f"Pair {pair}: {node!r} is not a {role} node. {role.capitalize()} nodes: {known}.")
    for u, v, data in g.edges(data=True):
        if data["kind"] == "pair" and (u == encoder_node or v == decoder_node):
            raise GraphError(f"Pair {pair} overlaps pair ({u!r}, {v!r}): each layer may be in one pair only.")
    enc_units, dec_units = g.nodes[encoder_node]["units"], g.nodes[decoder_node]["units"]
    if enc_units != dec_units:
        raise GraphError(
            f"Pair {pair} joins layers of different widths ({enc_units} vs {dec_units}). "
            "Pair layers of equal width (the mirror rule does) or change the pairing rule."
        )
    if tied:
        below, above = flow_predecessor(g, encoder_node), flow_successor(g, decoder_node)
        if g.nodes[below]["units"] != g.nodes[above]["units"]:
            raise GraphError(
                f"Pair {pair} cannot tie weights: the decoder layer after {decoder_node!r} must map "
                f"{dec_units} -> {g.nodes[below]['units']} units to reuse the transposed kernel of the "
                f"layer into {encoder_node!r}, but it maps to {g.nodes[above]['units']}. Use tied=False."
            )
    losses.pair_losses.get(loss)
    stop_gradient.get(mode)
    g.add_edge(
        encoder_node,
        decoder_node,
        kind="pair",
        weight=schedules.get(weight, "consistency_weight"),
        loss=loss,
        stop_gradient=mode,
        tied=bool(tied),
    )


def pairs(g):
    """Pair edges as ``(encoder_node, decoder_node, data)``, ordered from the input side."""
    order = {n: i for i, n in enumerate(flow_order(g))}
    found = [(u, v, d) for u, v, d in g.edges(data=True) if d["kind"] == "pair"]
    return sorted(found, key=lambda item: order[item[0]])


def tied_source(g, node):
    """The encoder node whose incoming layer's kernel, transposed, is `node`'s kernel; else None.

    A tied pair (e_i, d_j) ties the layer that leaves d_j to the layer that
    enters e_i: the two are mirror images (n_{i-1} -> n_i and n_i -> n_{i-1}).
    """
    if g.nodes[node]["role"] not in ("decoder", "output"):
        return None
    before = flow_predecessor(g, node)
    for encoder_node, _, data in g.in_edges(before, data=True):
        if data["kind"] == "pair" and data["tied"]:
            return encoder_node
    return None


def graphs_equal(a, b):
    """True when two graphs have the same nodes, edges and attributes (schedules compare by config)."""
    return (
        a.graph == b.graph
        and dict(a.nodes(data=True)) == dict(b.nodes(data=True))
        and {(u, v): d for u, v, d in a.edges(data=True)} == {(u, v): d for u, v, d in b.edges(data=True)}
    )
