"""Pairing rules: built-ins, user rules, explicit pairs, per-pair settings and errors."""

import pytest

import ladderae
from ladderae import graph, pairing


def spec_graph(encoder=(8, 6, 4, 2)):
    return graph.build_graph((10,), list(encoder), 2)


def pairs_of(g):
    return [(u, v) for u, v, _ in graph.pairs(g)]


@pytest.mark.parametrize(
    "rule, options, expected",
    [
        ("mirror", None, [("e1", "d1"), ("e2", "d2"), ("e3", "d3"), ("e4", "d4")]),
        ("none", None, []),
        (None, None, []),
        ("depths", {"depths": [3, 1]}, [("e1", "d1"), ("e3", "d3")]),
        ("every", {"k": 2}, [("e2", "d2"), ("e4", "d4")]),
        ([("e2", "d2")], None, [("e2", "d2")]),
    ],
)
def test_rules(rule, options, expected):
    assert pairs_of(pairing.apply_pairing(spec_graph(), rule, pairing_options=options)) == expected


def test_user_rule_registers_by_name_and_callables_work():
    @ladderae.pairing_rule("test_outer_two")
    def outer_two(g, n=2):
        return [(e, graph.mirror(g, e)) for e in graph.encoder_nodes(g)[:n]]

    assert "test_outer_two" in ladderae.pairing_rules.names
    model = ladderae.LadderAE(10, encoder=[8, 6, 4], latent_dim=2, pairing="test_outer_two")
    assert model.pairs == [("e1", "d1"), ("e2", "d2")]
    model = ladderae.LadderAE(10, encoder=[8, 6, 4], latent_dim=2, pairing=outer_two, pairing_options={"n": 1})
    assert model.pairs == [("e1", "d1")]


def test_per_pair_settings_broadcast_or_follow_a_list():
    g = pairing.apply_pairing(
        spec_graph((8, 6)),
        "mirror",
        consistency_weight=[0.5, 2.0],
        stop_gradient="local",
        consistency_loss=["mse", "normalized_mse"],
        tied_weights=[True, False],
    )
    edges = [g.edges[p] for p in pairs_of(g)]
    assert [e["weight"].value for e in edges] == [0.5, 2.0]
    assert [e["stop_gradient"] for e in edges] == ["local", "local"]
    assert [e["loss"] for e in edges] == ["mse", "normalized_mse"]
    assert graph.ties(g) == [("e1", "x_hat")]  # d1 -> x_hat reuses x -> e1 transposed; (e2, d2) is not tied


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(pairing="nearest"), "Unknown pairing rule 'nearest'.*Known: .*mirror"),
        (dict(pairing=42), "`pairing` must be a rule name"),
        (dict(pairing="depths", pairing_options={"depths": [5]}), r"depths between 1 and 4"),
        (dict(pairing="every", pairing_options={"k": 0}), "positive integer"),
        (dict(pairing="mirror", pairing_options={"bogus": 1}), "rejected pairing_options"),
        (dict(pairing=lambda g: ["e1"]), "must return \\(encoder_node, decoder_node\\)"),
        (dict(pairing=[("e1", "d2")]), "different widths"),
        (dict(pairing="mirror", consistency_weight=[1.0, 2.0]), "2 entries but the pairing gives 4 pairs"),
        (dict(pairing="none", tied_weights=True), "tied_weights=True.*gives no pairs"),
        (dict(pairing=[("e1", "d1")], pairing_options={"k": 2}), "only applies to a pairing rule"),
    ],
)
def test_errors_name_the_argument_and_the_fix(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pairing.apply_pairing(spec_graph(), **kwargs)
