"""Drawing surfaces every picture of ladderae shares: a figure on its own Agg canvas, PNGs of exact size, panels,
image grids, and the image shape a model's examples are drawn in."""

import math
import pathlib

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["figure", "save", "panels", "positive_int", "resolve_image_shape", "image_grid", "tick_labels",
           "as_images"]

_DPI = 100
_TILE_INCHES = 0.8  # largest side of one image in a grid
_GRID_INCHES = 8.0  # largest side of a whole image grid


def figure(width, height):
    """A Figure on its own Agg canvas, sides rounded up to quarter inches.

    Quarter inches times the dpi are whole pixels, so the saved PNG is exactly
    ``figsize * dpi`` (Agg rounds a fractional pixel size up).
    """
    fig = Figure(figsize=(math.ceil(width * 4) / 4, math.ceil(height * 4) / 4), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig, path):
    """Write `fig` as a PNG to `path` (if given, creating its folders) and return it."""
    if path is not None:
        path = pathlib.Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.canvas.print_png(path)
    return fig


def panels(n, width, height):
    """A figure with `n` panels of `width` x `height` inches, three to a row; returns it and the n axes."""
    cols = min(3, n)
    rows = -(-n // cols)
    fig = figure(width * cols, height * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.remove()
    return fig, axes[:n]


def positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    return int(value)


def resolve_image_shape(model, image_shape):
    """(height, width) to draw one example of `model` as; a ValueError names the fix when there is none.

    A model without a ladderae graph (any model with `reconstruct`) needs `image_shape`.
    """
    if image_shape is not None and not hasattr(model, "graph"):
        return tuple(image_shape)
    input_shape = model.graph.graph["input_shape"]
    size = math.prod(input_shape)
    if image_shape is not None:
        if len(image_shape) != 2 or math.prod(image_shape) != size:
            raise ValueError(
                f"`image_shape` must be (height, width) with height * width = {size}, the size of one example. "
                f"Received: image_shape={image_shape!r}"
            )
        return tuple(image_shape)
    dims = [d for d in input_shape if d != 1]  # (28, 28, 1) and (1, 28, 28) are 28 x 28 images too
    if len(dims) == 2:
        return tuple(dims)
    side = math.isqrt(size)
    if side * side != size:
        raise ValueError(
            f"Cannot draw examples of shape {input_shape} as images: {size} values is not a square number. "
            "Pass image_shape=(height, width)."
        )
    return side, side


def image_grid(images, cols, title, *, col_labels=None, row_labels=None):
    """A figure showing `images` (k, h, w) row by row in `cols` columns, as one picture.

    The tiles share one grey scale (0 to 1 for pixel probabilities, wider if
    values leave it), so brightness compares across tiles. Tick labels, when
    given, sit at the tile centres.
    """
    k, h, w = images.shape
    rows = -(-k // cols)
    canvas = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan)  # NaN gutters show as the 'bad' colour
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        canvas[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = image
    tile = min(_TILE_INCHES, _GRID_INCHES / max(rows, cols))
    fig = figure(cols * tile + (1.5 if row_labels else 0.6), rows * tile * h / w + (1.4 if col_labels else 0.7))
    ax = fig.add_subplot()
    low, high = min(0.0, float(np.nanmin(canvas))), max(1.0, float(np.nanmax(canvas)))
    ax.imshow(canvas, cmap="gray", vmin=low, vmax=high, interpolation="nearest")
    ax.set_facecolor("#b0b0b0")  # the NaN gutters
    ax.set_xticks(np.arange(cols) * (w + 1) + (w - 1) / 2, col_labels or [])
    ax.set_yticks(np.arange(rows) * (h + 1) + (h - 1) / 2, row_labels or [])
    ax.tick_params(length=0, labelsize=8)
    ax.set_title(title)
    return fig


def tick_labels(values):
    """Two decimals; ``+ 0.0`` turns the -0.0 that rounding leaves of a tiny negative middle value into 0."""
    return [f"{v:g}" for v in np.round(values, 2) + 0.0]


def as_images(values, image_shape):
    """Examples as a (k, height, width) float array."""
    return np.asarray(values, dtype="float64").reshape(-1, *image_shape)
