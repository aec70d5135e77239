"""The architecture as a `networkx.DiGraph`: the single source of truth for a model.

`build_graph` lays out the input ``x``, encoder layers ``e1..eL``, the
bottleneck ``z``, the mirror decoder layers ``dL..d1`` and the output
``x_hat`` joined by *flow* edges (``kind="flow"``). Each node stands for the
activation that its layer produces and carries that layer's description:
``role``, ``depth``, ``activation``, ``shape`` (of one example's activation),
``units`` (its size, the product of ``shape``) and ``layer``, the Keras layer
that produces it:

- ``"dense"``: a Dense layer that reads its input flattened and, when the
  node's ``shape`` has more than one axis, reshapes its output to it (the
  Flatten before the first dense layer of a conv encoder and the Reshape
  after its mirror);
- ``"conv"``: a Conv2D with ``padding="same"``, ``kernel_size`` and
  ``strides`` (pairs); its filters are the last axis of ``shape``;
- ``"conv_transpose"``: the Conv2DTranspose that mirrors a conv layer (same
  kernel size and strides), so it maps the conv layer's output shape back
  to its input shape exactly.

The decoder mirrors the encoder layer by layer: the layer that makes ``d_i``
mirrors the one that makes ``e_{i+1}`` (``dL`` mirrors the bottleneck's dense
layer, ``x_hat`` the layer into ``e1``), so ``e_i`` and ``d_i`` have the same
shape by construction. Pairing rules then add *pair* edges (``kind="pair"``)
from an encoder node to a decoder node of the same shape, carrying
``pair_kind`` (a registered `ladderae.pair_kinds.PairKind`, ``consistency``
by default) and that kind's attributes (a consistency pair: ``weight``, a
schedule, ``loss`` and ``stop_gradient``). A weight tie is an edge of its own
(``kind="tie"``) between the two nodes whose layers share one kernel: from
``e_i`` to the node after ``d_i``, whose layer is the mirror of the one into
``e_i``. `ladderae.LadderAE` creates one Keras layer per node and runs them in
topological order of the flow edges.

The output node ``x_hat`` holds the parameters of p(x | z), whose shape the
likelihood declares (`output_shape`; the input's shape for one parameter per
input value, e.g. Bernoulli logits).

>>> g = build_graph((784,), [512, 256], 32)
>>> flow_order(g)
['x', 'e1', 'e2', 'z', 'd2', 'd1', 'x_hat']
>>> g.nodes["d1"]["units"], mirror(g, "e2")
(512, 'd2')
>>> c = build_graph((28, 28, 1), [256], 2, conv=[32, 64], kernel_size=3, strides=2)
>>> [(n, c.nodes[n]["layer"], c.nodes[n]["shape"]) for n in ("e1", "e2", "e3", "d2", "d1", "x_hat")]
... # doctest: +NORMALIZE_WHITESPACE
[('e1', 'conv', (14, 14, 32)), ('e2', 'conv', (7, 7, 64)), ('e3', 'dense', (256,)),
 ('d2', 'dense', (7, 7, 64)), ('d1', 'conv_transpose', (14, 14, 32)), ('x_hat', 'conv_transpose', (28, 28, 1))]
"""

import inspect
import math

import networkx as nx

from ladderae.graph import kinds as kind_registry
from ladderae.checks import as_pair, is_positive_int

__all__ = [
    "INPUT",
    "OUTPUT",
    "LATENT",
    "MIRROR_LAYER",
    "KERAS_NAMES",
    "GraphError",
    "build_graph",
    "flow_order",
    "flow_predecessor",
    "flow_successor",
    "encoder_nodes",
    "decoder_nodes",
    "mirror",
    "pair_ends",
    "add_pair",
    "add_tie",
    "kind_attributes",
    "pairs",
    "pairs_of_kind",
    "ties",
    "tied_source",
    "inner_nodes",
    "layer_input_shape",
    "shape_text",
    "graphs_equal",
]

INPUT, OUTPUT, LATENT = "x", "x_hat", "z"
MIRROR_LAYER = {"dense": "dense", "conv": "conv_transpose"}  # encoder-side layer -> its decoder-side mirror
KERAS_NAMES = {"dense": "Dense", "conv": "Conv2D", "conv_transpose": "Conv2DTranspose"}


class GraphError(ValueError):
    """A graph or pair that cannot be built into a model; the message names the fix."""


def _check_sizes(name, sizes, *, allow_empty=False, example="[512, 256]"):
    if isinstance(sizes, int) or not hasattr(sizes, "__iter__"):
        raise GraphError(f"`{name}` must be a list of layer widths such as {example}. Received: {name}={sizes!r}")
    sizes = list(sizes)
    if (not sizes and not allow_empty) or not all(is_positive_int(s) for s in sizes):
        kind = "list" if allow_empty else "non-empty list"
        raise GraphError(
            f"`{name}` must be a {kind} of positive integers such as {example}. Received: {name}={sizes!r}"
        )
    return sizes


def _per_conv_layer(name, value, n):
    """`value` as one (height, width) pair per conv layer: an int for all, or a list of one int or pair per layer."""
    if is_positive_int(value):
        return [(value, value)] * n
    pairs = [as_pair(v) for v in value] if isinstance(value, (tuple, list)) else None
    if pairs is None or len(pairs) != n or None in pairs:
        raise GraphError(
            f"`{name}` must be a positive integer for every conv layer, or a list with one entry per conv layer "
            f"({n} here), each a positive integer or a (height, width) pair. Received: {name}={value!r}"
        )
    return pairs


def shape_text(shape):
    """A node shape for messages and pictures: ``256`` or ``14x14x32``."""
    return "x".join(str(d) for d in shape)


def _conv_shapes(input_shape, conv, strides):
    """Output shapes of the "same"-padded Conv2D layers e1..eK; an error where a mirror could not invert one.

    A Conv2DTranspose with "same" padding and stride s maps n to n * s, so
    the conv layer's input size must be a multiple of s for its mirror to give
    that size back (28 -> 14 -> 7 is fine; a third stride 2 gives 4, and 8 back).
    """
    if len(input_shape) != 3:
        raise GraphError(
            "`conv` layers need input_shape=(height, width, channels), e.g. (28, 28, 1) for grey images. "
            f"Received: input_shape={input_shape!r}. Give the examples a channel axis (x.reshape(-1, 28, 28, 1))."
        )
    height, width, _ = input_shape
    total = (math.prod(s[0] for s in strides), math.prod(s[1] for s in strides))
    shapes = []
    for depth, (filters, stride) in enumerate(zip(conv, strides), start=1):
        if height % stride[0] or width % stride[1]:
            out = (-(-height // stride[0]), -(-width // stride[1]))
            padded = tuple(-(-n // t) * t for n, t in zip(input_shape[:2], total))
            raise GraphError(
                f"Conv layer 'e{depth}' (conv[{depth - 1}]={filters}, strides={stride}) gets a {height}x{width} "
                f"input: 'same' padding gives {out[0]}x{out[1]}, which its Conv2DTranspose mirror maps back to "
                f"{out[0] * stride[0]}x{out[1] * stride[1]}, not {height}x{width}. The height and width of "
                f"input_shape must be multiples of the product of the strides ({total[0]}x{total[1]}): pad the "
                f"images to {padded[0]}x{padded[1]} or use fewer strided layers (strides=1 for some)."
            )
        height, width = height // stride[0], width // stride[1]
        shapes.append((height, width, filters))
    return shapes


def _layer(kind, shape, kernel_size=None, strides=None):
    """Node attributes describing the layer that makes a node of `shape`."""
    attrs = {"layer": kind, "shape": tuple(shape), "units": math.prod(shape)}
    if kind != "dense":
        attrs.update(kernel_size=tuple(kernel_size), strides=tuple(strides))
    return attrs


def _mirror_of(attrs, shape):
    """Attributes of the decoder-side layer that inverts the layer described by `attrs`, producing `shape`."""
    return _layer(MIRROR_LAYER[attrs["layer"]], shape, attrs.get("kernel_size"), attrs.get("strides"))


def build_graph(
    input_shape, encoder, latent_dim, *, conv=(), kernel_size=3, strides=2, variational=True, activation="relu",
    output_shape=None, batch_norm=False,
):
    """Lay out input, encoder, bottleneck, mirror decoder and output as flow edges.

    Parameters
    ----------
    input_shape : tuple of int
        Shape of one example, e.g. ``(784,)`` or ``(28, 28)`` (flattened for a
        dense first layer), or ``(28, 28, 1)`` (height, width, channels) for `conv`.
    encoder : list of int
        Widths of the dense encoder layers (after the conv layers); the decoder
        mirrors them. May be empty when `conv` is not.
    latent_dim : int
        Width of the bottleneck z.
    conv : list of int
        Filters of the Conv2D layers e1..eK (``padding="same"``) before the
        dense ones; each is mirrored by a Conv2DTranspose.
    kernel_size, strides : int or list
        Of the conv layers: one int for all, or one int or (height, width)
        pair per conv layer. The input's height and width must be multiples
        of the product of the strides (a mirror must give them back).
    output_shape : tuple of int, callable or None
        Shape of the parameters of p(x | z) for one example, or a function
        from the shape the first layer reads (flattened for a dense one) to it,
        such as a likelihood's `param_shape`; None: that shape itself. A conv
        decoder's output keeps the image's height and width.
    batch_norm : bool
        Batch-normalise the pre-activations of the hidden dense layers (node
        attribute ``batch_norm``; tied layers are not normalised).
    """
    input_shape = tuple(_check_sizes("input_shape", input_shape))
    conv = _check_sizes("conv", conv, allow_empty=True, example="[32, 64]")
    encoder = _check_sizes("encoder", encoder, allow_empty=bool(conv))
    if not is_positive_int(latent_dim):
        raise GraphError(f"`latent_dim` must be a positive integer. Received: latent_dim={latent_dim!r}")
    kernel_sizes = _per_conv_layer("kernel_size", kernel_size, len(conv))
    strides = _per_conv_layer("strides", strides, len(conv))

    # The encoder side, x to z: which layer makes each node.
    first = input_shape if conv else (math.prod(input_shape),)
    encoder_layers = []
    if conv:
        shapes = _conv_shapes(input_shape, conv, strides)
        encoder_layers += [_layer("conv", *args) for args in zip(shapes, kernel_sizes, strides)]
    encoder_layers += [_layer("dense", (units,)) for units in encoder]

    g = nx.DiGraph(input_shape=input_shape, latent_dim=latent_dim, variational=bool(variational))
    g.add_node(INPUT, role="input", shape=first, units=math.prod(first))
    for depth, attrs in enumerate(encoder_layers, start=1):
        g.add_node(f"e{depth}", role="encoder", depth=depth, activation=activation, **attrs)
        if batch_norm and attrs["layer"] == "dense":
            g.nodes[f"e{depth}"]["batch_norm"] = True
    g.add_node(LATENT, role="latent", variational=bool(variational), **_layer("dense", (latent_dim,)))
    chain = [INPUT, *(f"e{depth}" for depth in range(1, len(encoder_layers) + 1)), LATENT]
    nx.add_path(g, chain, kind="flow")

    # The decoder side, z to x_hat: the layer that makes d_i mirrors the one that makes e_{i+1}.
    decoder = []
    for lower, upper in reversed(list(nx.utils.pairwise(chain))):
        shape = g.nodes[lower]["shape"]
        if lower == INPUT and output_shape is not None:
            shape = _output_shape(shape, output_shape)
        attrs = _mirror_of(g.nodes[upper], shape)
        if lower == INPUT:
            g.add_node(OUTPUT, role="output", **attrs)
            decoder.append(OUTPUT)
        else:
            depth = g.nodes[lower]["depth"]
            g.add_node(f"d{depth}", role="decoder", depth=depth, activation=activation, **attrs)
            if batch_norm and attrs["layer"] == "dense":
                g.nodes[f"d{depth}"]["batch_norm"] = True
            decoder.append(f"d{depth}")
    nx.add_path(g, [LATENT, *decoder], kind="flow")
    return g


def _output_shape(first, output_shape):
    """The likelihood's parameter shape, checked against what a mirror layer can emit."""
    if callable(output_shape):
        output_shape = output_shape(first)
    output_shape = tuple(_check_sizes("output_shape", output_shape))
    if len(first) == 3 and output_shape[:2] != first[:2]:
        raise GraphError(
            f"A conv decoder emits maps of the input's height and width {first[:2]}: the likelihood's parameter "
            f"shape must be (height, width, channels). Received: output_shape={output_shape!r}"
        )
    return output_shape


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


def _nodes_with_role(g, *roles):
    return [n for n in flow_order(g) if g.nodes[n]["role"] in roles]


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


def _describe(attrs):
    """E.g. "Dense to 6" or "Conv2DTranspose (kernel 3x3, strides 2x2) to 28x28x1", for messages."""
    geometry = ""
    if attrs["layer"] != "dense":
        geometry = f" (kernel {shape_text(attrs['kernel_size'])}, strides {shape_text(attrs['strides'])})"
    return f"{KERAS_NAMES[attrs['layer']]}{geometry} to {shape_text(attrs['shape'])}"


def layer_input_shape(g, node):
    """The shape `node`'s layer reads per example: its flow predecessor's, flattened for a dense layer."""
    shape = g.nodes[flow_predecessor(g, node)]["shape"]
    return (math.prod(shape),) if g.nodes[node]["layer"] == "dense" else shape


def inner_nodes(g, encoder_node, decoder_node):
    """The nodes whose layers run strictly after `encoder_node` up to and including `decoder_node`."""
    order = flow_order(g)
    return order[order.index(encoder_node) + 1 : order.index(decoder_node) + 1]


def pair_ends(g, side):
    """The nodes a pair may join on `side` (``"encoder"``, ``"decoder"``), in flow order: those of the roles that
    ``g.graph["pair_roles"][side]`` lists (a Ladder network's: see `ladderae.graph.ladder`), else the side's layers."""
    return _nodes_with_role(g, *g.graph.get("pair_roles", {}).get(side, (side,)))


def _check_ends(g, encoder_node, decoder_node, what):
    for node, side, article in ((encoder_node, "encoder", "an"), (decoder_node, "decoder", "a")):
        known = pair_ends(g, side)
        if node not in known:
            raise GraphError(f"{what}: {node!r} is not {article} {side} node. {side.capitalize()} nodes: "
                             f"{', '.join(known)}.")


def add_pair(g, encoder_node, decoder_node, *, kind="consistency", tied=False, **settings):
    """Add a validated pair edge of pair kind `kind` (its settings as keywords) and, if `tied`, a tie edge.

    ``kind=None`` adds no pair edge (a tie alone, with ``tied=True``). Every
    error names the pair and the way out.
    """
    pair = f"Pair ({encoder_node!r}, {decoder_node!r})"
    _check_ends(g, encoder_node, decoder_node, pair)
    enc_shape, dec_shape = g.nodes[encoder_node]["shape"], g.nodes[decoder_node]["shape"]
    if enc_shape != dec_shape:
        what = "widths" if len(enc_shape) == len(dec_shape) == 1 else "shapes"
        raise GraphError(
            f"{pair} joins layers of different {what} ({shape_text(enc_shape)} vs {shape_text(dec_shape)}): "
            f"pair layers of equal {what[:-1]}, each with its mirror at the same depth, or change the pairing."
        )
    if kind is not None:
        attrs = kind_attributes(g, encoder_node, decoder_node, kind, settings)
    elif settings:
        raise GraphError(f"{pair} has no pair kind (kind=None), so it takes no settings. Received: {sorted(settings)}")
    elif not tied:
        raise GraphError(f"{pair} with kind=None adds nothing: give a pair kind, or tied=True for a weight tie.")
    if tied:
        add_tie(g, encoder_node, decoder_node)
    if kind is not None:
        g.add_edge(encoder_node, decoder_node, **attrs)


def kind_attributes(g, encoder_node, decoder_node, kind, settings):
    """The attributes of a new pair edge of pair kind `kind`: no overlap with another pair, settings the kind takes."""
    pair = f"Pair ({encoder_node!r}, {decoder_node!r})"
    for u, v in pairs_of_kind(g):
        if u == encoder_node or v == decoder_node:
            raise GraphError(f"{pair} overlaps pair ({u!r}, {v!r}): each layer may be in one pair only.")
    pair_kind = kind_registry.get(kind)
    try:
        inspect.signature(pair_kind.edge_attributes).bind(g, encoder_node, decoder_node, **settings)
    except TypeError as err:
        raise GraphError(f"{pair}: pair kind {kind!r} does not take these settings ({err}).") from err
    return {"kind": "pair", "pair_kind": kind, **pair_kind.edge_attributes(g, encoder_node, decoder_node, **settings)}


def add_tie(g, encoder_node, decoder_node):
    """Tie the layer after `decoder_node` to the layer into `encoder_node` (its transposed kernel).

    The tie is an edge ``kind="tie"`` from `encoder_node` to the node that
    the tied decoder layer makes. The two layers must be mirror images
    (n_{i-1} -> n_i and n_i -> n_{i-1}): a Dense and its transpose, or a
    Conv2D and its Conv2DTranspose of the same kernel and strides.
    """
    pair = f"Pair ({encoder_node!r}, {decoder_node!r})"
    _check_ends(g, encoder_node, decoder_node, pair)
    below, above = flow_predecessor(g, encoder_node), flow_successor(g, decoder_node)
    wanted = _mirror_of(g.nodes[encoder_node], g.nodes[below]["shape"])
    found = {key: g.nodes[above].get(key) for key in wanted}
    if found != wanted:
        raise GraphError(
            f"{pair} cannot tie weights: to reuse the kernel of the layer into {encoder_node!r} "
            f"({_describe(g.nodes[encoder_node])}), the decoder layer after {decoder_node!r} must be its mirror, "
            f"a {_describe(wanted)}, but it is a {_describe(found)}. Use tied=False."
        )
    if any(kind == "tie" for *_, kind in g.in_edges(above, data="kind")):
        raise GraphError(f"{pair}: the layer after {decoder_node!r} is tied already.")
    g.add_edge(encoder_node, above, kind="tie")


def _ordered(g, edges):
    order = {n: i for i, n in enumerate(flow_order(g))}
    return sorted(edges, key=lambda item: order[item[0]])


def pairs(g):
    """Pair edges as ``(encoder_node, decoder_node, data)``, ordered from the input side."""
    return _ordered(g, [(u, v, d) for u, v, d in g.edges(data=True) if d["kind"] == "pair"])


def pairs_of_kind(g, kind=None):
    """``(encoder_node, decoder_node)`` of the pair edges, of pair kind `kind` or of any kind (None)."""
    return [(u, v) for u, v, d in pairs(g) if kind is None or d["pair_kind"] == kind]


def ties(g):
    """Tie edges as ``(encoder_node, tied_node)``: `tied_node`'s layer transposes the kernel into `encoder_node`."""
    return [(u, v) for u, v, _ in _ordered(g, [(u, v, d) for u, v, d in g.edges(data=True) if d["kind"] == "tie"])]


def tied_source(g, node):
    """The encoder node whose incoming layer's kernel `node`'s layer borrows (and transposes); else None.

    A tie (e_i, d_j) ties the layer that leaves d_j to the layer that enters
    e_i: the two are mirror images (n_{i-1} -> n_i and n_i -> n_{i-1}), a
    Dense with its transpose or a Conv2D with its Conv2DTranspose.
    """
    sources = [u for u, _, kind in g.in_edges(node, data="kind") if kind == "tie"]
    return sources[0] if sources else None


def graphs_equal(a, b):
    """True when two graphs have the same nodes, edges and attributes (schedules compare by config)."""
    return (
        a.graph == b.graph
        and dict(a.nodes(data=True)) == dict(b.nodes(data=True))
        and {(u, v): d for u, v, d in a.edges(data=True)} == {(u, v): d for u, v, d in b.edges(data=True)}
    )
