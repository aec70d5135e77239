"""A user's own pairing rule: match only the layers at least `min_units` wide.

Run: python examples/custom_pairing_rule.py
A rule is a plain function from the architecture graph to (encoder, decoder)
node pairs; registering it gives it a name usable everywhere. The command line
imports this file first when told so, and then accepts the name:

    ladderae train --plugin examples/custom_pairing_rule.py --pairing wide_only --pairing-option min_units=200
"""

import ladderae
from ladderae import graph


@ladderae.pairing_rule("wide_only")
def wide_only(g, min_units=128):
    """Mirror pairs for the encoder layers with at least `min_units` units."""
    return [(e, graph.mirror(g, e)) for e in graph.encoder_nodes(g) if g.nodes[e]["units"] >= min_units]


if __name__ == "__main__":
    model = ladderae.LadderAE(
        784,
        encoder=[512, 256, 64],
        latent_dim=16,
        pairing="wide_only",
        pairing_options={"min_units": 200},
        stop_gradient="local",
    )
    print("pairs:", model.pairs)
    for e, d, data in ladderae.graph.pairs(model.graph):
        print(f"  {e} ~ {d}: weight {data['weight']}, loss {data['loss']}, stop_gradient {data['stop_gradient']}")
    print("metrics reported by fit:", ", ".join(["loss", *model.term_names]))
