"""Ladder figures: test error per epoch by row, denoised against clean activations, and what they refuse."""

import numpy as np
import pytest
from conftest import check_png, numpy
from test_ladder import X, tiny  # the same shapes: JAX's eager ops compiled once for both files

from ladderae import ladder_plots


def test_denoised_returns_what_each_lateral_cost_compares_and_leaves_the_statistics():
    model = tiny(pairing=[0, 2, 3], denoising_weight=[1.0, 2.0, 3.0])
    before = numpy(model.node_layers["e1"].moving_mean)
    found = model.denoised(X)
    assert list(found) == [("x", "x_hat"), ("e2", "d2"), ("z", "z_hat")]
    assert [found[p][0].shape for p in found] == [(32, 6), (32, 4), (32, 3)]
    np.testing.assert_array_equal(numpy(model.node_layers["e1"].moving_mean), before)
    # The clean side is the clean pass's normalised pre-activation: zero mean and unit variance per unit.
    np.testing.assert_allclose(found[("e2", "d2")][0].mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(found[("e2", "d2")][0].var(0), 1, rtol=1e-3)
    assert tiny(pair_kind="consistency").denoised(X) == {}


def test_error_curves(tmp_path):
    path = tmp_path / "plots" / "error.png"
    fig = ladder_plots.error_curves({"ladder": [[0.3, 0.1, 0.05], [0.4, 0.2, 0.06]], "supervised": [[0.5, 0.3, 0.3]]},
                                    path=path, title="test error on 1,000 test digits")
    check_png(fig, path)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["ladder", "supervised"]
    assert len(ax.lines) == 3 and ax.get_yscale() == "log" and ax.get_title() == "test error on 1,000 test digits"
    np.testing.assert_allclose(ax.lines[2].get_ydata(), [50, 30, 30])  # percent
    assert ax.get_xlim() == (0.5, 3.5)  # whole epochs


@pytest.mark.parametrize("curves", [{}, [[0.1]], {"ladder": []}, {"ladder": [[]]}, {"ladder": [[1.5]]}])
def test_error_curves_refuse_what_is_not_per_epoch_errors(curves):
    with pytest.raises(ValueError, match="`curves` must map each row name"):
        ladder_plots.error_curves(curves)


def test_denoised_activations(tmp_path):
    model = tiny()
    path = tmp_path / "denoised.png"
    fig = ladder_plots.denoised_activations(model, X, units=3, path=path)
    check_png(fig, path)
    assert len(fig.axes) == 4 * 3  # a row per lateral pair, a panel per unit
    assert fig.axes[3].get_title().startswith("e1 → d1, unit")
    assert len(fig.axes[0].collections[0].get_offsets()) == len(X)  # a point per example
    fig = ladder_plots.denoised_activations(model, X, layers=["z"], units=5)
    assert len(fig.axes) == 3 and all(ax.get_title().startswith("z → z_hat") for ax in fig.axes)  # 3 classes


@pytest.mark.parametrize(
    "model_kwargs, kwargs, match",
    [
        ({"pairing": None}, {}, "this model has none"),
        ({}, {"layers": ["e3"]}, r"`layers` must name encoder-side nodes of lateral pairs: some of \['x', 'e1'"),
        ({}, {"units": 0}, "`units` must be a positive integer"),
    ],
)
def test_denoised_activations_name_the_bad_argument(model_kwargs, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ladder_plots.denoised_activations(tiny(**model_kwargs), X, **kwargs)
