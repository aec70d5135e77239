"""Figures of a `LadderAE`: reconstructions, samples, the latent space, learning curves and the pairing graph.

    from ladderae.plots import figures as plots
    plots.reconstructions(model, x_test, path="runs/mnist/reconstructions.png")
    plots.history(model.fit(x, epochs=10), path="runs/mnist/history.png")

Every function draws on its own `matplotlib.figure.Figure` with an Agg canvas
(no pyplot figure, no GUI, no global backend switch), so nothing leaks between
calls and it runs the same on a headless machine. When `path` is given it
writes a PNG of exactly ``figsize * dpi`` pixels there (creating the parent
folders); it always returns the figure, for further edits or notebook display.

Images are drawn as grey levels: of shape ``image_shape`` when given, else of
the model's input shape when that is 2-D leaving out axes of length 1 (e.g.
``input_shape=(28, 28)`` or a conv model's ``(28, 28, 1)``), else as squares
(784 values -> 28 x 28).
"""

import math
import statistics

import matplotlib
import networkx as nx
import numpy as np
from matplotlib.ticker import MaxNLocator

from ladderae.graph import build as graph_lib
from ladderae.plots.canvas import (as_images, figure, image_grid, panels, positive_int, resolve_image_shape, save,
                                   tick_labels)
from ladderae import pair_kinds
from ladderae.nn import stop_gradient

__all__ = [
    "reconstructions", "samples", "latent_manifold", "latent_scatter", "history", "pairing_graph", "column_distributions"
]

_PAIR_PANEL = "pair terms (unweighted)"
_COLUMN_PANEL = "column terms (nats)"
_CURVE_ORDER = ("loss", "reconstruction", _COLUMN_PANEL, "kl", "neg_elbo", "consistency", _PAIR_PANEL, "beta")
_ROLE_COLORS = {
    "input": "#d9d9d9", "encoder": "#9ecae1", "latent": "#fdd0a2", "decoder": "#a1d99b", "output": "#d9d9d9",
    "classifier": "#fdd0a2",
}


# -------------------------------------------------------------- image plots


def reconstructions(model, x, n=10, path=None, *, image_shape=None):
    """Draw the first `n` examples of `x` (top row) above their reconstructions (bottom row).

    Reconstructions go through the posterior mean (`model.reconstruct`), so the
    figure shows what the model keeps of each input, free of sampling noise.

    Parameters
    ----------
    model : LadderAE
    x : array of examples in the model's input shape
    n : int
        Number of examples to show (fewer if `x` is shorter).
    path : str or path-like, optional
        PNG file to write.
    image_shape : (int, int), optional
        Shape to draw one example as, when the input shape is not an image.
    """
    n = positive_int("n", n)
    shape = resolve_image_shape(model, image_shape)
    x = np.asarray(x)[:n]
    if len(x) == 0:
        raise ValueError("`x` holds no examples to reconstruct.")
    images = np.concatenate([as_images(x, shape), as_images(model.reconstruct(x), shape)])
    fig = image_grid(images, len(x), "inputs and reconstructions", row_labels=["input", "reconstruction"])
    return save(fig, path)


def samples(model, n=64, seed=0, path=None, *, image_shape=None):
    """Draw `n` decoded prior samples (`model.sample`) on a near-square grid.

    Shows what the generative model produces from z ~ N(0, I); the means of
    p(x | z) are drawn, not binarised draws, as is usual for MNIST VAEs.
    """
    n = positive_int("n", n)
    shape = resolve_image_shape(model, image_shape)
    images = as_images(model.sample(n, seed=seed), shape)
    fig = image_grid(images, math.ceil(math.sqrt(n)), f"{n} samples from the prior (seed {seed})")
    return save(fig, path)


def latent_manifold(model, n=15, path=None, extent=None, *, image_shape=None):
    """Decode an n x n grid over a 2-D latent space into one picture, z1 across and z2 up.

    By default the grid coordinates are standard-normal quantiles of evenly
    spaced probabilities (0.05 to 0.95), so the grid covers the prior's mass
    evenly (Kingma & Welling, 2014, fig. 4). A plain autoencoder has no prior:
    give ``extent=(z1_min, z1_max, z2_min, z2_max)`` (e.g. from the range of
    `model.encode(x)`) for an evenly spaced grid instead.
    """
    n = positive_int("n", n)
    latent_dim = model.latent_dim
    if latent_dim != 2:
        raise ValueError(
            f"latent_manifold draws a 2-D latent space, but this model has latent_dim={latent_dim}. "
            "Use latent_scatter(model, x, labels) to see a larger latent space."
        )
    shape = resolve_image_shape(model, image_shape)
    if extent is None:
        if not model.variational:
            raise ValueError(
                "A plain autoencoder (variational=False) has no prior to take quantiles of: pass "
                "extent=(z1_min, z1_max, z2_min, z2_max), e.g. from the range of model.encode(x)."
            )
        z1 = z2 = np.array([statistics.NormalDist().inv_cdf(p) for p in np.linspace(0.05, 0.95, n)])
        how = "standard-normal quantiles"
    else:
        if len(extent) != 4 or not extent[0] < extent[1] or not extent[2] < extent[3]:
            raise ValueError(
                f"`extent` must be (z1_min, z1_max, z2_min, z2_max) with min < max. Received: extent={extent!r}"
            )
        z1, z2 = np.linspace(extent[0], extent[1], n), np.linspace(extent[2], extent[3], n)
        how = "evenly spaced"
    z2 = z2[::-1]  # the top row has the largest z2
    grid = np.stack(np.meshgrid(z1, z2), axis=-1).reshape(-1, 2).astype("float32")
    fig = image_grid(
        as_images(model.decode(grid), shape),
        n,
        f"decoded {n} x {n} latent grid ({how})",
        col_labels=tick_labels(z1),
        row_labels=tick_labels(z2),
    )
    ax = fig.axes[0]
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    return save(fig, path)


# ------------------------------------------------------------- latent space


def latent_scatter(model, x, labels, path=None):
    """Scatter the posterior means of `x` coloured by label.

    A 2-D latent space is drawn as it is (axes z1, z2); a larger one is
    projected onto its first two principal components (axes PC1, PC2, with
    the share of variance each explains). Up to 10 distinct labels get tab10
    colours and a legend; more (or continuous labels) a colour bar.
    """
    codes = model.encode(x)
    labels = np.asarray(labels)
    if labels.shape != (len(codes),):
        raise ValueError(
            f"`labels` must hold one label per example of `x`, shape ({len(codes)},). Received shape {labels.shape}."
        )
    if codes.shape[1] < 2:
        raise ValueError("latent_scatter needs latent_dim >= 2; with one latent dimension, histogram model.encode(x).")
    if codes.shape[1] == 2:
        points, axis_labels, how = codes, ["z1", "z2"], ""
    else:
        centred = codes - codes.mean(axis=0)
        _, singular, components = np.linalg.svd(centred, full_matrices=False)
        share = singular**2 / max(float(np.sum(singular**2)), np.finfo(float).tiny)
        points = centred @ components[:2].T
        axis_labels = [f"PC{i + 1} ({share[i]:.0%} of variance)" for i in range(2)]
        how = f", projected from {codes.shape[1]} dimensions"

    fig = figure(6.5, 5.5)
    ax = fig.add_subplot()
    classes = np.unique(labels)
    if len(classes) <= 10:
        tab10 = matplotlib.colormaps["tab10"]
        for i, label in enumerate(classes):
            ax.scatter(*points[labels == label].T, s=8, alpha=0.7, color=tab10(i), label=str(label))
        ax.legend(title="label", markerscale=2, fontsize=8, loc="best")
    else:
        values = labels if np.issubdtype(labels.dtype, np.number) else np.searchsorted(classes, labels)
        dots = ax.scatter(*points.T, s=8, alpha=0.7, c=values, cmap="viridis")
        fig.colorbar(dots, ax=ax, label="label")
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.set_title(f"posterior means of {len(codes)} examples{how}")
    return save(fig, path)


# ---------------------------------------------------------------- training


def history(history, path=None):
    """Learning curves: one panel per loss term, all ``pair_*`` terms together in one.

    Panels follow the order loss, reconstruction, kl, neg_elbo, consistency,
    pair terms, beta, then any other metric; a table's ``nll_<column>`` terms
    share one panel. A ``val_`` curve is dashed, in its training curve's panel
    and colour.

    Parameters
    ----------
    history : dict or keras.callbacks.History
        ``{name: [value per epoch]}``: ``model.fit(...)`` or its ``.history``,
        or the ``"history"`` entry of a ``metrics.json`` written by the CLI.
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ValueError(
            "`history` must be a non-empty dict of per-epoch values or the History that model.fit returns. "
            f"Received: {type(history).__name__}"
        )
    grouped = {}
    for key in logs:
        base = key.removeprefix("val_")
        group = {"pair_": _PAIR_PANEL, "nll_": _COLUMN_PANEL}.get(base[: base.find("_") + 1], base)
        terms = grouped.setdefault(group, [])
        if base not in terms:
            terms.append(base)
    titles = sorted(grouped, key=lambda t: _CURVE_ORDER.index(t) if t in _CURVE_ORDER else len(_CURVE_ORDER))

    fig, axes = panels(len(titles), 4.0, 3.0)
    for ax, title in zip(axes, titles):
        for i, base in enumerate(grouped[title]):
            for key, style in ((base, "-"), (f"val_{base}", "--")):
                if key in logs:
                    values = np.asarray(logs[key], dtype="float64")
                    epochs = np.arange(1, len(values) + 1)
                    marker = "o" if len(values) <= 30 else None  # a one-epoch curve is a dot
                    ax.plot(epochs, values, style, color=f"C{i}", label=key, marker=marker, markersize=3)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if len(ax.lines) > 1:
            ax.legend(fontsize=8)
    return save(fig, path)


# ------------------------------------------------------------ pairing graph


def _pair_label(g, e, d, data):
    """E.g. "consistency\nw=1 · local · tied": the pair kind's own description, and "tied" for a tied pair."""
    tied = any(u == e and graph_lib.flow_predecessor(g, v) == d for u, v in graph_lib.ties(g))
    text = pair_kinds.get(data["pair_kind"]).label(data) + (" · tied" if tied else "")
    return text.replace(" · ", "\n", 1)  # the kind on a line of its own: neighbouring arcs' labels do not overlap


def _u_layout(g):
    """Positions for the "U": input and encoder nodes on top by depth, decoder and output nodes below them, the
    nodes of the turn (the bottleneck, a classifier) in a column at the right."""
    pos = {}
    for node, data in g.nodes(data=True):
        row = {"input": 1.0, "encoder": 1.0, "output": 0.0, "decoder": 0.0}.get(data["role"])
        if row is not None:
            pos[node] = (float(data.get("depth", 0)), row)
    turn = [n for n in graph_lib.flow_order(g) if n not in pos]
    column = max(x for x, _ in pos.values()) + 1.0
    for i, node in enumerate(turn):
        pos[node] = (column, 0.5 if len(turn) == 1 else 1.0 - (i + 0.5) / len(turn))
    return pos


def _noise_text(data):
    """E.g. "\nnoise 0.3" for a node a corrupted pass adds noise to (a Ladder network's)."""
    return f"\nnoise {data['noise_std']:g}" if data.get("noise_std") else ""


def pairing_graph(model_or_graph, path=None):
    """Draw a model's pairing graph as a "U": encoder row on top, mirror decoder row below, z at the bend.

    ``x, e1..eL`` run left to right on top, ``x_hat, d1..dL`` below them (d_i
    under e_i), and ``z`` sits at the right between the rows. Flow edges are
    solid grey arrows; each pair edge is a dashed arc coloured by its
    stop-gradient mode and labelled with its weight (the value of a constant,
    else the schedule's class) and its mode, as its pair kind describes it.
    A weight tie is a thick dotted grey arc from e_i to the node whose layer
    transposes e_i's kernel. Nodes show their name and shape (``256``,
    ``14x14x32``) and, in a Ladder network, the std of the noise its corrupted
    pass adds there; its classifier and z_hat sit at the bend with z.

    Parameters
    ----------
    model_or_graph : LadderAE, LadderNetwork or networkx.DiGraph
        A model, or a graph from `ladderae.graph.build_graph` (with or without pairs).
    """
    g = model_or_graph if isinstance(model_or_graph, nx.DiGraph) else model_or_graph.graph
    pos = _u_layout(g)
    right = max(x for x, _ in pos.values())
    flow = [(u, v) for u, v, kind in g.edges(data="kind") if kind == "flow"]
    pairs = graph_lib.pairs(g)

    unit = 1.7  # inches between neighbouring nodes
    fig = figure(unit * (right + 1.4), unit * 2.0 + 0.6)
    ax = fig.add_subplot()
    ax.set_aspect("equal")  # keeps the arcs' midpoints where `rad` puts them in data units
    node_size = (0.42 * unit * 72) ** 2  # marker area in points^2: a circle about 0.42 units across
    nodes = list(pos)
    nx.draw_networkx_nodes(g, pos, nodelist=nodes, node_size=node_size, ax=ax, edgecolors="#555555",
                           node_color=[_ROLE_COLORS[g.nodes[n]["role"]] for n in nodes])
    labels = {n: f"{n}\n{graph_lib.shape_text(g.nodes[n]['shape'])}" + _noise_text(g.nodes[n]) for n in nodes}
    nx.draw_networkx_labels(g, pos, labels=labels, font_size=9, ax=ax)
    nx.draw_networkx_edges(g, pos, edgelist=flow, edge_color="#808080", width=1.5, node_size=node_size,
                           arrowsize=14, ax=ax)

    colors = {name: f"C{i}" for i, name in enumerate(stop_gradient.modes.names + pair_kinds.pair_kinds.names)}
    rad = 0.35
    nx.draw_networkx_edges(g, pos, edgelist=graph_lib.ties(g), style="dotted", connectionstyle=f"arc3,rad={-rad}",
                           edge_color="#606060", width=3.0, node_size=node_size, arrowsize=10, ax=ax)
    for e, d, data in pairs:
        color = colors[data.get("stop_gradient", data["pair_kind"])]
        nx.draw_networkx_edges(g, pos, edgelist=[(e, d)], style="dashed", connectionstyle=f"arc3,rad={rad}",
                               edge_color=color, width=1.5, node_size=node_size, arrowsize=12, ax=ax)
        # The middle of an arc3 curve from p to q lies at (p + q) / 2 + rad / 2 * (dy, -dx).
        (x0, y0), (x1, y1) = pos[e], pos[d]
        mid = ((x0 + x1) / 2 + rad / 2 * (y1 - y0), (y0 + y1) / 2 - rad / 2 * (x1 - x0))
        ax.text(*mid, _pair_label(g, e, d, data), ha="center", va="center", fontsize=8, color=color,
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.9})

    ax.set_xlim(-0.7, right + 0.7)
    ax.set_ylim(-0.55, 1.55)
    ax.axis("off")
    n_ties = len(graph_lib.ties(g))
    tie_text = f", {n_ties} tie{'' if n_ties == 1 else 's'}" if n_ties else ""
    ax.set_title(f"pairing graph: {len(pairs)} pair{'' if len(pairs) == 1 else 's'}{tie_text}")
    return save(fig, path)


# ------------------------------------------------------------------ tables


def column_distributions(original, others, path=None, bins=30, max_categories=12):
    """Per column, the distribution of `original` beside each frame in `others` (e.g. reconstructions, samples).

    Numeric columns as step histograms over shared bins, categorical and
    binary ones as grouped bars of value frequencies (the `max_categories` most
    frequent values of `original`). `others` maps a label to a DataFrame with
    the same columns.
    """
    others = dict(others)
    missing = {label: [c for c in original.columns if c not in frame.columns] for label, frame in others.items()}
    missing = {label: cols for label, cols in missing.items() if cols}
    if missing:
        raise ValueError(f"Every frame in `others` needs the columns of `original`; missing: {missing!r}")
    frames = {"data": original, **others}
    names = list(original.columns)
    fig, axes = panels(len(names), 4.5, 3.0)
    for ax, name in zip(axes, names):
        column = original[name]
        if isinstance(column.dtype, np.dtype) and column.dtype.kind in "iuf":  # numbers; not bools, categories
            values = {label: np.asarray(frame[name], dtype="float64") for label, frame in frames.items()}
            edges = np.histogram_bin_edges(np.concatenate(list(values.values())), bins=bins)
            for i, (label, v) in enumerate(values.items()):
                ax.hist(v, bins=edges, histtype="step", density=True, color=f"C{i}", label=label, linewidth=1.5)
        else:
            top = column.astype(object).value_counts().index[:max_categories].tolist()
            width = 0.8 / len(frames)
            for i, (label, frame) in enumerate(frames.items()):
                freq = frame[name].astype(object).value_counts(normalize=True)
                ax.bar(np.arange(len(top)) + i * width, [freq.get(v, 0.0) for v in top], width, color=f"C{i}",
                       label=label)
            ax.set_xticks(np.arange(len(top)) + 0.4 - width / 2, [str(v) for v in top], rotation=45, fontsize=8)
        ax.set_title(name)
        ax.legend(fontsize=7)
    return save(fig, path)
