"""The Ladder network's denoising costs average over the unlabelled rows of a batch (all rows if none is), as the
reference code's decoder sees only the unlabelled part; the labelled rows' squared errors do not enter them."""

import numpy as np
import pytest

import ladderae
from conftest import numpy
from ladderae import stop_gradient
from ladderae.pair_kinds.lateral import Lateral


@pytest.mark.parametrize("labelled_rows", [slice(0, 12), slice(12, 24), slice(0, 24, 2), slice(0, 24)],
                         ids=["labelled-first", "labelled-last", "interleaved", "all-labelled"])
def test_each_denoising_cost_is_the_mean_squared_error_of_the_unlabelled_rows(labelled_rows):
    model = ladderae.LadderNetwork(20, encoder=[8, 6], seed=0)
    x = np.random.default_rng(0).random((24, 20)).astype("float32")
    y = np.full(24, -1)
    y[labelled_rows] = np.arange(24)[labelled_rows] % 10
    outputs = model((x, y), training=True)
    terms = model.loss_terms(y, outputs, 0)
    rows = y < 0 if np.any(y < 0) else np.ones(24, bool)
    checked = 0
    for kind, (e, d, data) in zip(model.network.kinds, model.network.pairs):
        if isinstance(kind, Lateral):
            clean, estimate = (numpy(v) for v in kind.compared(outputs, e, d, stop_gradient.get("none")))
            squared = ((estimate - clean) ** 2).reshape(24, -1).mean(axis=1)
            assert not np.isclose(squared[rows].mean(), squared.mean(), rtol=1e-3) or rows.all()
            np.testing.assert_allclose(numpy(terms[f"denoising_{e}_{d}"]), squared[rows].mean(), rtol=1e-5)
            checked += 1
    assert checked == len(model.pairs) >= 3


def test_a_pass_without_labels_averages_every_row():
    model = ladderae.LadderNetwork(20, encoder=[8, 6], seed=0)
    x = np.random.default_rng(1).random((16, 20)).astype("float32")
    outputs = model(x, training=True)
    e, d, data = model.network.pairs[1]
    clean, estimate = (numpy(v) for v in model.network.kinds[1].compared(outputs, e, d, stop_gradient.get("none")))
    cost = model.network.kinds[1].cost(outputs, e, d, stop_gradient.get("none"))
    np.testing.assert_allclose(numpy(cost), ((estimate - clean) ** 2).mean(), rtol=1e-5)
