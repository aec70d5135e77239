"""Pair kinds: what a pair edge between an encoder layer and its mirror decoder layer computes.

Each kind is one module with one registered `PairKind` subclass:

- ``consistency`` (`ladderae.pair_kinds.consistency`): a loss between e_i and
  d_i, with a stop-gradient mode (the default kind).
- ``lateral`` (`ladderae.pair_kinds.lateral`): d_i reads e_i through a
  combinator, with the Ladder network's denoising cost.
- ``stochastic`` (`ladderae.pair_kinds.stochastic`): a Gaussian latent z_i
  whose posterior merges e_i's bottom-up estimate with d_i's top-down prior
  (the Ladder VAE; widths from a `latent_dim` list).
- ``bottom_up`` (`ladderae.pair_kinds.bottom_up`): a Gaussian latent z_i
  drawn from e_i alone on the way up, which e_{i+1} reads, with the same
  top-down prior (the hierarchical VAE with bottom-up inference).

A weight tie is not a pair kind but an edge of its own (``kind="tie"`` in
`ladderae.graph`): it shares a kernel and computes no loss. Register your own
kind with the decorator and use it by name (``pair_kind="mine"``):

>>> import keras, ladderae
>>> @ladderae.pair_kind("report_gap")
... class ReportGap(ladderae.pair_kinds.PairKind):
...     '''Reports the mean absolute gap between e_i and d_i, trains nothing.'''
...     def term_names(self, e, d, data):
...         return [f"gap_{e}_{d}"]
...     def loss_terms(self, outputs, e, d, data, step):
...         gap = keras.ops.mean(keras.ops.abs(outputs[e] - outputs[d]))
...         return {f"gap_{e}_{d}": keras.ops.stop_gradient(gap)}, None
>>> model = ladderae.LadderAE(6, encoder=[4], latent_dim=2, pair_kind="report_gap")
>>> model.term_names
['reconstruction', 'kl', 'beta', 'neg_elbo', 'gap_e1_d1']
"""

from ladderae.graph.kinds import get, pair_kinds
from ladderae.pair_kinds.base import PairKind, pair_kind

__all__ = ["PairKind", "pair_kinds", "pair_kind", "get"]

from ladderae.pair_kinds import bottom_up, consistency, lateral, stochastic  # noqa: E402,F401  (the built-in kinds register)
