"""One harness for the gradient tables of tests/test_stop_gradient.py (dense) and tests/test_conv.py (conv).

A table says, for each pair and stop-gradient mode, which layers the pair's loss
trains: every trainable variable of those layers gets a non-zero gradient from it,
every variable of every other layer exactly zero. Each model declares its table;
the checks below are the same for all of them.
"""

import dataclasses
from collections.abc import Callable, Mapping

import numpy as np
import pytest
from conftest import gradients

MODES = ("none", "encoder", "decoder", "local")


def layer_of(path):
    """The node layer a variable belongs to: "z_mean/kernel" -> "z_mean"."""
    return path.split("/")[-2]


def reached(grads):
    """The variables (paths) that got a non-zero gradient."""
    return {path for path, g in grads.items() if np.abs(g).sum() > 0}


@dataclasses.dataclass(frozen=True)
class GradientTable:
    """`expected[pair][mode]`: the layers the pair's loss must train under that mode; all other layers get zero.

    `build(stop_gradient)` returns the model with the same fixed weights for every
    mode (a per-pair list of modes works too); `x` is the batch the loss is taken on;
    `layers` names every layer that has trainable variables.
    """

    build: Callable
    x: np.ndarray
    layers: frozenset
    expected: Mapping

    def cases(self):
        """(pair, mode) for every cell of the table, for `pytest.mark.parametrize("pair, mode", ...)`."""
        return [pytest.param(pair, mode, id=f"{pair[0]}~{pair[1]}-{mode}") for pair in self.expected for mode in MODES]

    def pairs(self):
        """Every pair of the table, for `pytest.mark.parametrize("pair", ...)`."""
        return [pytest.param(pair, id=f"{pair[0]}~{pair[1]}") for pair in self.expected]

    def pair_gradients(self, model, pair):
        """Gradient of the pair's unweighted loss term on `x` (training pass), keyed by variable path."""
        name = f"pair_{pair[0]}_{pair[1]}"
        return gradients(model, lambda: model.loss_terms(self.x, model(self.x, training=True), 0)[name])

    def check_reach(self, model, pair, mode):
        """The pair's loss gives every variable of exactly the promised layers a non-zero gradient."""
        grads = self.pair_gradients(model, pair)
        assert {layer_of(path) for path in grads} == self.layers
        promised = self.expected[pair][mode]
        assert {layer_of(path) for path in reached(grads)} == promised
        assert reached(grads) == {path for path in grads if layer_of(path) in promised}, "a promised layer's variable"

    def check_split(self, pair):
        """d MSE(a, b) = d MSE(const a, b) + d MSE(a, const b): the two frozen halves add up to `none`.

        Neither half alone is the full gradient, so the sum is not satisfied by a mode that ignores its setting.
        """
        full, enc, dec = (self.pair_gradients(self.build(mode), pair) for mode in ("none", "encoder", "decoder"))
        for path in full:
            np.testing.assert_allclose(enc[path] + dec[path], full[path], rtol=1e-4, atol=1e-6, err_msg=path)
        for half, mode in ((enc, "encoder"), (dec, "decoder")):
            changed = any(np.abs(half[p] - full[p]).sum() > 1e-6 for p in full)
            assert changed, f"the {mode} mode must change the gradient"
