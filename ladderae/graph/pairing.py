"""Pairing rules: plain functions from a graph to the (encoder, decoder) pairs to match.

A rule takes the flow graph (see `ladderae.graph`) and keyword options and
returns an iterable of ``(encoder_node, decoder_node)`` name pairs. Register
your own with the decorator and use it by name, or pass the function itself:

>>> import ladderae
>>> @ladderae.pairing_rule("deepest_only")
... def deepest_only(graph):
...     last = ladderae.graph.encoder_nodes(graph)[-1]
...     return [(last, ladderae.graph.mirror(graph, last))]
>>> ladderae.LadderAE(784, encoder=[64, 32], latent_dim=4, pairing="deepest_only").pairs
[('e2', 'd2')]
"""

from ladderae.graph import build as graph_lib
from ladderae.graph import kinds as kind_registry
from ladderae.checks import check_bool, is_positive_int
from ladderae.registry import Registry

__all__ = ["pairing_rules", "pairing_rule", "get", "explicit_pairs", "kind_arguments", "resolve_pairs",
           "pair_arguments", "add_pairs", "apply_pairing", "mirror", "none", "depths", "every"]

pairing_rules = Registry("pairing rule", "pairing")
pairing_rule = pairing_rules.register


@pairing_rule("mirror")
def mirror(graph):
    """Every encoder layer e_i with its mirror decoder layer d_i."""
    return [(e, graph_lib.mirror(graph, e)) for e in graph_lib.encoder_nodes(graph)]


@pairing_rule("none")
def none(graph):
    """No pairs: a plain (variational) autoencoder."""
    return []


def _check_depths(graph, depths):
    n = len(graph_lib.encoder_nodes(graph))
    bad = [d for d in depths if isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= n]
    if bad or not depths:
        raise graph_lib.GraphError(
            f"`pairing_options['depths']` must list encoder depths between 1 and {n}. Received: depths={depths!r}"
        )


@pairing_rule("depths")
def depths(graph, depths):
    """Mirror pairs at the chosen encoder depths only (1 = the layer next to the input)."""
    depths = list(depths) if hasattr(depths, "__iter__") else [depths]
    _check_depths(graph, depths)
    return [(f"e{d}", graph_lib.mirror(graph, f"e{d}")) for d in sorted(set(depths))]


@pairing_rule("every")
def every(graph, k=2):
    """Mirror pairs at every k-th depth: k, 2k, 3k, ..."""
    if not is_positive_int(k):
        raise graph_lib.GraphError(f"`pairing_options['k']` must be a positive integer. Received: k={k!r}")
    depth = len(graph_lib.encoder_nodes(graph))
    if k > depth:
        raise graph_lib.GraphError(
            f"`pairing_options['k']`={k} is deeper than the encoder ({depth} layers): rule 'every' would pair "
            f"nothing. Use k <= {depth}, or pairing='none' for no pairs."
        )
    return [(e, graph_lib.mirror(graph, e)) for e in graph_lib.encoder_nodes(graph) if graph.nodes[e]["depth"] % k == 0]


def get(identifier):
    """The rule function for a registered name, a callable rule itself, or the ``none`` rule for None."""
    if identifier is None:
        return pairing_rules.get("none")
    return identifier if callable(identifier) else pairing_rules.get(identifier)


def _rule_pairs(graph, pairing, options):
    rule = get(pairing)
    try:
        found = rule(graph, **options)
    except TypeError as err:
        raise graph_lib.GraphError(f"Pairing rule {pairing!r} rejected pairing_options={options!r}: {err}") from err
    if found is None:
        raise graph_lib.GraphError(
            f"Pairing rule {pairing!r} returned None: return a list of (encoder_node, decoder_node) pairs "
            "([] for no pairs; did the function miss a `return`?)."
        )
    found = list(found)
    for item in found:
        if not (isinstance(item, (tuple, list)) and len(item) == 2 and all(isinstance(n, str) for n in item)):
            raise graph_lib.GraphError(
                f"Pairing rule {pairing!r} must return (encoder_node, decoder_node) name pairs. Returned: {item!r}"
            )
    return [tuple(item) for item in found]


def resolve_pairs(graph, pairing="mirror", pairing_options=None):
    """The pairs a `pairing` argument asks for, as a list of dicts (``encoder``, ``decoder`` and any overrides).

    `pairing` is a registered rule name, a callable rule, None (no pairs), or an
    explicit list of ``(encoder, decoder)`` tuples or dicts with keys
    ``encoder``, ``decoder`` and optionally ``kind`` (a pair kind, or None
    for a tie alone), ``tied`` and the kind's own settings (a consistency
    pair: ``weight``, ``loss``, ``stop_gradient``): the form a saved model keeps.
    """
    options = dict(pairing_options or {})
    if pairing is None:
        pairing = "none"
    if isinstance(pairing, str) or callable(pairing):
        return [{"encoder": e, "decoder": d} for e, d in _rule_pairs(graph, pairing, options)]
    if options:
        raise graph_lib.GraphError("`pairing_options` only applies to a pairing rule, not to an explicit list of pairs.")
    if not isinstance(pairing, (list, tuple)):
        raise graph_lib.GraphError(
            f"`pairing` must be a rule name ({', '.join(pairing_rules.names)}), a callable rule, None, "
            f"or a list of (encoder, decoder) pairs. Received: pairing={pairing!r}"
        )
    resolved = []
    for item in pairing:
        if isinstance(item, dict) and {"encoder", "decoder"} <= set(item):
            resolved.append(dict(item))
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            resolved.append({"encoder": item[0], "decoder": item[1]})
        else:
            raise graph_lib.GraphError(
                f"Each explicit pair must be (encoder, decoder) or a dict with those keys. Received: {item!r}"
            )
    return resolved


def _per_pair(name, value, n, is_scalar):
    """Broadcast a scalar setting to n pairs, or check a list has one entry per pair."""
    if is_scalar(value):
        return [value] * n
    values = list(value)
    if len(values) != n:
        raise graph_lib.GraphError(f"`{name}` has {len(values)} entries but the pairing gives {n} pairs: give one "
                                   "per pair (in the pairing's order: from the input side for a rule) or one for all.")
    return values


def _is_name(value):
    return value is None or isinstance(value, str)


def _is_scalar(value):
    return not isinstance(value, (list, tuple))


def kind_arguments():
    """Every ``LadderAE`` argument that a registered pair kind declares (e.g. ``consistency_weight``)."""
    return {argument for name in kind_registry.pair_kinds.names for argument in kind_registry.get(name).settings}


def pair_arguments(graph, pairing="mirror", *, pairing_options=None, pair_kind="consistency", tied_weights=False,
                   **kind_settings):
    """The pairs `pairing` asks for (``"pairs"``, as `resolve_pairs` gives them) and every other argument of
    `apply_pairing` as one value per pair, by argument name: what `add_pairs` adds and a saved config lists."""
    found = resolve_pairs(graph, pairing, pairing_options)
    n = len(found)
    if n == 0 and _is_scalar(tied_weights) and check_bool("tied_weights", tied_weights):
        raise graph_lib.GraphError(
            "`tied_weights=True` ties each pair's decoder layer to its encoder layer, but the pairing gives no "
            "pairs. Use pairing='mirror' (with pair_kind=None to tie without a pair loss)."
        )
    arguments = {"pairs": found, "pair_kind": _per_pair("pair_kind", pair_kind, n, _is_name),
                 "tied_weights": [check_bool("tied_weights", value)
                                  for value in _per_pair("tied_weights", tied_weights, n, _is_scalar)]}
    # each argument a kind declares, broadcast to one value per pair
    arguments.update({argument: _per_pair(argument, value, n, _is_scalar) for argument, value in kind_settings.items()})
    unknown = sorted(set(kind_settings) - kind_arguments())
    if unknown:
        raise graph_lib.GraphError(
            f"Unknown pair settings {unknown}. Pair kinds take: {', '.join(sorted(kind_arguments()))}."
        )
    return arguments


def add_pairs(graph, arguments):
    """Add the pairs of `pair_arguments` to `graph`, each with its kind and the settings its kind declares."""
    for i, pair in enumerate(arguments["pairs"]):
        kind = pair.get("kind", arguments["pair_kind"][i])
        declared = kind_registry.get(kind).settings if kind is not None else {}
        settings = {attr: arguments[arg][i] for arg, attr in declared.items() if arg in arguments}
        settings.update({key: value for key, value in pair.items() if key not in ("encoder", "decoder", "kind", "tied")})
        graph_lib.add_pair(graph, pair["encoder"], pair["decoder"], kind=kind,
                           tied=pair.get("tied", arguments["tied_weights"][i]), **settings)
    return graph


def apply_pairing(graph, pairing="mirror", *, pairing_options=None, pair_kind="consistency", tied_weights=False,
                  **kind_settings):
    """Add the edges `pairing` asks for to `graph`; per-pair settings may be scalars or lists.

    `pair_kind` is a registered pair kind (or None: ties only) for all pairs
    or one per pair; `kind_settings` are the kinds' ``LadderAE`` arguments
    (e.g. ``consistency_weight``), each given to the pairs of the kind that
    declares it. ``(e_i, d_i)`` is tied when `tied_weights` says so.
    """
    return add_pairs(graph, pair_arguments(graph, pairing, pairing_options=pairing_options, pair_kind=pair_kind,
                                           tied_weights=tied_weights, **kind_settings))


def explicit_pairs(graph):
    """The pair and tie edges of `graph` as the explicit list `apply_pairing` takes back (a saved model's form)."""
    tied = {(e, graph_lib.flow_predecessor(graph, node)) for e, node in graph_lib.ties(graph)}
    found = []
    for e, d, data in graph_lib.pairs(graph):
        kind = kind_registry.get(data["pair_kind"])
        found.append({"encoder": e, "decoder": d, "kind": data["pair_kind"], **kind.serialize(data),
                      "tied": (e, d) in tied})
        tied.discard((e, d))
    found += [{"encoder": e, "decoder": d, "kind": None, "tied": True} for e, d in sorted(tied)]
    return found
