"""The registry of pair kinds, read here by name and filled by `ladderae.pair_kinds` (each kind registers itself).

A pair edge stores its kind's name; the graph and the walk ask the registered
kind to check and store its settings, name its latents and make its layers.
Neither imports a kind: the kinds sit above the Keras layer, and a user's kind
registers exactly as the built-in ones do.
"""

from ladderae.registry import Registry

__all__ = ["pair_kinds", "get", "ladder_pair_kinds"]

pair_kinds = Registry("pair kind", "pair_kind")
get = pair_kinds.get


def ladder_pair_kinds():
    """The registered kinds a `ladderae.LadderNetwork` takes: those that hold no latent (``holds_latents``)."""
    return [name for name in pair_kinds.names if not get(name).holds_latents]
