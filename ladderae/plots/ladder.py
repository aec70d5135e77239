"""Figures of a `LadderNetwork`: test error per epoch by row, and denoised against clean activations.

    from ladderae.plots import ladder as ladder_plots
    ladder_plots.error_curves({"ladder": [errors_draw0, errors_draw1], "supervised": [errors]}, path="error.png")
    ladder_plots.denoised_activations(model, x_batch, path="denoised.png")

Drawn as `ladderae.plots` draws: each function on its own Agg figure, a PNG
of exactly ``figsize * dpi`` pixels written to `path` when given, the Figure
returned.
"""

import textwrap

import numpy as np
from matplotlib.ticker import MaxNLocator

from ladderae import checks
from ladderae.plots.canvas import figure, positive_int, save

__all__ = ["error_curves", "denoised_activations"]


def _check_curves(curves):
    """`curves` as {row: [per-epoch errors of one run, ...]}, every error a number in [0, 1]."""
    usage = "`curves` must map each row name to a list of runs, each a list of per-epoch test errors in [0, 1]"
    if not isinstance(curves, dict) or not curves:
        raise ValueError(f"{usage}, e.g. {{'ladder': [[0.05, 0.02]]}}. Received: {type(curves).__name__}")
    checked = {}
    for row, runs in curves.items():
        runs = [np.asarray(run, dtype="float64") for run in runs]
        if not runs or any(run.ndim != 1 or not len(run) or not np.all((run >= 0) & (run <= 1)) for run in runs):
            raise ValueError(f"{usage}. Received for {row!r}: {curves[row]!r}")
        checked[row] = runs
    return checked


def error_curves(curves, path=None, title="test error per epoch"):
    """Test error (%) against epoch: a colour per row, a line per run (label draw) of that row.

    `curves` maps a row name to its runs' per-epoch test errors (fractions).
    The error axis is logarithmic, so a ladder's 1 % and a supervised row's
    20 % read in one panel; `title` should say what the errors were measured on.
    """
    curves = _check_curves(curves)
    fig = figure(6.0, 4.0)
    ax = fig.subplots()
    for i, (row, runs) in enumerate(curves.items()):
        for j, run in enumerate(runs):
            ax.plot(np.arange(1, len(run) + 1), 100 * np.maximum(run, 1e-4), color=f"C{i}", alpha=0.8,
                    marker="o" if len(run) <= 30 else None, markersize=3, label=row if j == 0 else None)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test error (%)")
    ax.set_xlim(0.5, max(len(run) for runs in curves.values() for run in runs) + 0.5)  # whole epochs, even one
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.grid(alpha=0.3, which="both")
    ax.set_title("\n".join(textwrap.wrap(title, 70)), fontsize=10)
    ax.legend(fontsize=8)
    return save(fig, path)


def _chosen_pairs(found, layers):
    """The (encoder, decoder) pairs of `found` whose encoder side `layers` names (None: all of them)."""
    if not found:
        raise ValueError("denoised_activations draws lateral pairs, and this model has none (pairing=None or "
                         "pair_kind='consistency'): build it with pair_kind='lateral'.")
    by_encoder = {e: (e, d) for e, d in found}
    if layers is None:
        return list(found)
    unknown = [name for name in layers if name not in by_encoder]
    if unknown or not layers:
        raise ValueError(f"`layers` must name encoder-side nodes of lateral pairs: some of {list(by_encoder)}. "
                         f"Received: layers={layers!r}")
    return [by_encoder[name] for name in layers]


def denoised_activations(model, x, layers=None, units=3, path=None):
    """Denoised z_hat against clean z, unit by unit, over one training pass of `model` on the batch `x`.

    A row per lateral pair (those whose encoder side `layers` names, e.g.
    ``["x", "e1", "z"]``; None: every one), a panel for each of its `units`
    units that vary most in the clean pass: a point per example, the diagonal
    z_hat = z where perfect denoising puts them all, and the unit's mean
    squared gap (what the pair's cost averages). z_hat is normalised with the
    clean batch's statistics, as the cost compares them
    (`LadderNetwork.denoised`), so `x` should be a training-sized batch.
    """
    units = positive_int("units", units)
    x = checks.check_rows("x", x)
    found = model.denoised(x)
    pairs = _chosen_pairs(found, layers)
    columns = min(units, min(found[pair][0].shape[1] for pair in pairs))
    fig = figure(2.4 * columns, 2.3 * len(pairs))
    axes = fig.subplots(len(pairs), columns, squeeze=False)
    for row, pair in zip(axes, pairs):
        clean, estimate = found[pair]
        for ax, unit in zip(row, np.argsort(-clean.var(axis=0), kind="stable")[:columns]):
            _unit_panel(ax, clean[:, unit], estimate[:, unit], f"{pair[0]} → {pair[1]}, unit {unit}")
    for ax in axes[:, 0]:
        ax.set_ylabel("denoised z_hat")
    for ax in axes[-1]:
        ax.set_xlabel("clean z")
    fig.suptitle(f"denoised vs clean activations ({len(x)} examples, one corrupted pass)", fontsize=10)
    return save(fig, path)


def _unit_panel(ax, clean, estimate, title):
    """One unit's (clean, denoised) points, the diagonal and their mean squared gap."""
    ax.scatter(clean, estimate, s=4, alpha=0.5, linewidths=0)
    low, high = min(clean.min(), estimate.min()), max(clean.max(), estimate.max())
    ax.plot([low, high], [low, high], color="0.4", linewidth=0.8)
    ax.set_title(title, fontsize=8)
    ax.text(0.03, 0.95, f"mse {np.mean(np.square(estimate - clean)):.3g}", transform=ax.transAxes, fontsize=7,
            va="top")
    ax.tick_params(labelsize=7)
