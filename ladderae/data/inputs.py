"""Checks on the data users hand to a model, made in NumPy before any Keras step runs.

On the JAX backend an error raised inside a traced training, evaluation or
prediction step leaves every variable of the model empty (Keras' JAX trainer
does not restore its state), so a refused call would cost the trained weights.
Every check ladderae makes on data therefore runs here, first: the examples'
shape, at least one row, finite values, values the likelihood can score, no
targets or sample weights (an autoencoder learns from x alone; Keras drops
sample weights without targets silently).
"""

import keras
import numpy as np

from ladderae.checks import check_all_finite, check_rows

__all__ = ["check_examples", "shape_error", "check_call", "stop_on_nan", "keyed_to_steps"]


def _first_batch(x):
    """A batch to check from a `keras.utils.PyDataset` (its first), else None for streams we cannot peek at."""
    if isinstance(x, keras.utils.PyDataset):
        batch = x[0]
        return batch[0] if isinstance(batch, tuple) else batch
    return None


def _is_array(x):
    return isinstance(x, (np.ndarray, list)) or (hasattr(x, "shape") and hasattr(x, "dtype") and not hasattr(x, "take"))


def check_examples(model, x, name="x", support=True):
    """Refuse `x` (an array, tensor or PyDataset) by name unless every example fits `model`: its shape, numbers,
    all finite, and (with `support`: what the model trains and scores on) values its likelihood can score."""
    if not _is_array(x):
        batch = _first_batch(x)
        if batch is not None:
            check_examples(model, batch, f"{name} (its first batch)", support)
        return
    x = np.asarray(x)
    shape = model.graph.graph["input_shape"]
    if tuple(x.shape[1:]) != shape:
        raise shape_error(model, x.shape[1:], name)
    check_rows(name, x)
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise ValueError(f"`{name}` must be numeric. Received: {name} of dtype {x.dtype}.")
    check_all_finite(name, x)
    if support:
        model.likelihood.check_support(x, name)


def shape_error(model, got, name="x"):
    """The error for examples of shape `got` where `model` reads another shape."""
    shape = model.graph.graph["input_shape"]
    return ValueError(
        f"{model.name} expects examples of shape {shape} (from input_dim/input_shape), but got examples of shape "
        f"{tuple(got)} in `{name}`. Reshape the data to (batch, *{shape}) or build the model with the matching "
        "input_shape."
    )


def check_call(model, method, x, y=None, sample_weight=None, validation_data=None):
    """The checks of `fit`, `evaluate` and `predict`, each failure naming the argument and the fix."""
    if y is not None:
        raise ValueError(
            f"{model.name} learns from x alone: call {method}(x) with no targets "
            f"(got y of shape {np.shape(y)})."
        )
    if sample_weight is not None:
        raise ValueError(
            f"{model.name} does not weight examples: call {method}(x) without sample_weight "
            "(repeat or drop rows to change their weight)."
        )
    check_examples(model, x)
    if validation_data is not None:
        val = validation_data[0] if isinstance(validation_data, tuple) else validation_data
        if isinstance(validation_data, tuple) and any(v is not None for v in validation_data[1:]):
            raise ValueError("`validation_data` must be x_val (or (x_val,)): the model takes no targets or weights.")
        check_examples(model, val, "validation_data")


def _with(callbacks, kind, make):
    """`callbacks` as a list, plus `make()` unless a callback of class `kind` is there already."""
    callbacks = list(callbacks or [])
    return callbacks if any(isinstance(c, kind) for c in callbacks) else [*callbacks, make()]


def stop_on_nan(callbacks):
    """`callbacks` plus Keras' `TerminateOnNaN` (unless already there): a diverged run stops, it does not go on."""
    return _with(callbacks, keras.callbacks.TerminateOnNaN, keras.callbacks.TerminateOnNaN)


def keyed_to_steps(data, callbacks):
    """`callbacks` plus a `pipeline.EpochSync` for `data` (unless one is there): its epochs follow the step count."""
    from ladderae.data.pipeline import EpochSync

    return _with(callbacks, EpochSync, lambda: EpochSync(data))
