"""The graph builder: layout, helpers and errors, on tiny literal specs."""

import pytest

from ladderae import graph
from ladderae.graph.build import GraphError


def test_layout_and_flow_order():
    g = graph.build_graph((28, 28), [8, 4, 2], 3)
    assert graph.flow_order(g) == ["x", "e1", "e2", "e3", "z", "d3", "d2", "d1", "x_hat"]
    assert g.nodes["x"]["units"] == 784 and g.nodes["x_hat"]["units"] == 784
    assert [g.nodes[n]["units"] for n in graph.decoder_nodes(g)] == [2, 4, 8]
    assert all(d["kind"] == "flow" for *_, d in g.edges(data=True))
    assert graph.mirror(g, "e2") == "d2" and graph.mirror(g, "d3") == "e3"
    assert graph.inner_nodes(g, "e2", "d2") == ["e3", "z", "d3", "d2"]
    assert graph.flow_predecessor(g, "e1") == "x" and graph.flow_successor(g, "d1") == "x_hat"


def test_pairs_and_tied_source():
    g = graph.build_graph((10,), [6, 4], 2)
    graph.add_pair(g, "e2", "d2", weight=0.5, tied=True)
    graph.add_pair(g, "e1", "d1", stop_gradient="local")
    assert [(u, v) for u, v, _ in graph.pairs(g)] == [("e1", "d1"), ("e2", "d2")]
    assert graph.tied_source(g, "d1") == "e2"  # d2 -> d1 reuses e1 -> e2 transposed
    assert graph.tied_source(g, "x_hat") is None
    assert g.edges["e2", "d2"]["weight"].value == 0.5


@pytest.mark.parametrize(
    "spec, match",
    [
        (dict(encoder=[]), "encoder.*non-empty list"),
        (dict(encoder=[8, 0]), "encoder.*positive integers"),
        (dict(encoder=512), "encoder.*list of layer widths"),
        (dict(latent_dim=0), "latent_dim.*positive integer"),
        (dict(input_shape=(28, -1)), "input_shape"),
    ],
)
def test_bad_sizes(spec, match):
    args = dict(input_shape=(10,), encoder=[6, 4], latent_dim=2) | spec
    with pytest.raises(GraphError, match=match):
        graph.build_graph(args["input_shape"], args["encoder"], args["latent_dim"])


@pytest.mark.parametrize(
    "pair, kwargs, match",
    [
        (("e1", "d2"), {}, r"different widths \(6 vs 4\)"),
        (("e1", "e2"), {}, "'e2' is not a decoder node"),
        (("e9", "d1"), {}, "'e9' is not an encoder node. Encoder nodes: e1, e2"),
        (("e1", "d1"), {"stop_gradient": "both"}, "stop_gradient"),
        (("e1", "d1"), {"loss": "bce"}, "consistency_loss"),
    ],
)
def test_bad_pairs(pair, kwargs, match):
    g = graph.build_graph((10,), [6, 4], 2)
    with pytest.raises(ValueError, match=match):
        graph.add_pair(g, *pair, **kwargs)


def test_overlapping_pairs_and_untieable_pairs_are_rejected():
    g = graph.build_graph((10,), [6, 6], 2)
    graph.add_pair(g, "e1", "d1")
    with pytest.raises(GraphError, match="one pair only"):
        graph.add_pair(g, "e1", "d2")
    g = graph.build_graph((10,), [6, 6], 2)
    with pytest.raises(GraphError, match="cannot tie weights.*Use tied=False"):
        graph.add_pair(g, "e2", "d1", tied=True)  # d1 -> x_hat maps to 10 units, e1 -> e2 comes from 6


def test_graphs_equal():
    a, b = (graph.build_graph((10,), [6, 4], 2) for _ in range(2))
    assert graph.graphs_equal(a, b)
    graph.add_pair(a, "e1", "d1")
    assert not graph.graphs_equal(a, b)
    graph.add_pair(b, "e1", "d1", weight=2.0)
    assert not graph.graphs_equal(a, b)
