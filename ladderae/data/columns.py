"""The column kinds of a table: how each is encoded, which likelihood it gets, how it decodes.

- `Numeric`: standardised with the training mean and variance, computed and
  applied in float64 (float32 cannot tell 1e9 from 1e9 + 1, and its variance
  overflows for values ~1e20: both standardised to a constant); Gaussian head
  on the standardised value (learned scale, or unit scale = MSE in nats).
- `Categorical`: a fitted `StringLookup` / `IntegerLookup` with one
  out-of-vocabulary slot, one-hot; softmax head, cross-entropy from logits.
- `Binary`: two known values mapped to 0 / 1; Bernoulli head on a logit.

A column's fitted state (vocabulary, mean, variance, original dtype) is plain
data in its config, so a model saved with its schema carries its preprocessing;
the Keras layers are rebuilt from that state. Each column encodes to `width`
values, and its head has `width` parameters in the same positions.
"""

import math

import keras
import numpy as np
import pandas as pd
from keras import ops

from ladderae.nn import losses

__all__ = ["Column", "Numeric", "Categorical", "Binary", "column_from_config"]

_NUMERIC_LIKELIHOODS = ("gaussian", "gaussian_unit")


def _check_weight(name, weight):
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
        raise ValueError(f"The weight of column {name!r} must be a finite number >= 0. Received: {weight!r}")
    return float(weight)


def _to_numpy(tensor):
    return np.asarray(ops.convert_to_numpy(tensor))


class Column:
    """One column: its name, its weight in the loss, and its fitted encoding."""

    kind = None

    def __init__(self, name, weight=1.0):
        if not isinstance(name, str) or not name:
            raise ValueError(f"A column name must be a non-empty string. Received: {name!r}")
        self.name = name
        self.weight = _check_weight(name, weight)

    @property
    def width(self):
        """Number of encoded values (and of head parameters)."""
        raise NotImplementedError

    def encode(self, values):
        """Float32 array (n, width) from a 1-D array of raw values (already checked)."""
        raise NotImplementedError

    def decode(self, encoded):
        """Raw values (1-D array; the schema restores the pandas dtype) from encoded means or draws (n, width)."""
        raise NotImplementedError

    def check(self, values):
        """Raise a ValueError naming the column if `values` cannot be encoded; nothing by default."""

    def nll(self, x, params, log_scale=None):
        """-log p(x | params) per example (tensor ops); `log_scale` is used by numeric columns."""
        raise NotImplementedError

    def mean(self, params, log_scale=None):
        """The mean of p(x | params) in encoded space (tensor ops)."""
        raise NotImplementedError

    def draw(self, params, rng, log_scale=None):
        """A draw from p(x | params) in encoded space (NumPy)."""
        raise NotImplementedError

    def get_config(self):
        return {"kind": self.kind, "name": self.name, "weight": self.weight}

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r}, width={self.width}, weight={self.weight})"


class Numeric(Column):
    """A real-valued column, standardised with the training mean and variance."""

    kind = "numeric"

    def __init__(self, name, mean, variance, dtype="float64", likelihood="gaussian", weight=1.0):
        super().__init__(name, weight)
        if likelihood not in _NUMERIC_LIKELIHOODS:
            raise ValueError(
                f"Unknown likelihood {likelihood!r} for numeric column {name!r}: "
                f"use one of {', '.join(_NUMERIC_LIKELIHOODS)}."
            )
        if not variance > 0:
            raise ValueError(
                f"Numeric column {name!r} is constant in the training data (variance {variance}): "
                "it carries no information; drop it from the schema."
            )
        self.mean_value, self.variance, self.dtype, self.likelihood = float(mean), float(variance), str(dtype), likelihood

    @classmethod
    def fit(cls, name, values, dtype=None, **kwargs):
        """Learn the mean and (population) variance of `values` in float64."""
        raw = np.asarray(values, dtype="float64")
        with np.errstate(over="ignore", invalid="ignore"):
            # A constant column gets variance 0 exactly, not the rounding error of its mean.
            mean, variance = float(np.mean(raw)), float(np.var(raw)) if np.ptp(raw) > 0 else 0.0
        if not (math.isfinite(mean) and math.isfinite(variance)):
            raise ValueError(
                f"Numeric column {name!r} is too large to standardise (values up to {np.max(np.abs(raw)):.3g}: the "
                f"variance overflows float64). Rescale it before building the schema, e.g. df[{name!r}] / 1e100 or "
                f"np.log10(df[{name!r}])."
            )
        return cls(name, mean, variance, dtype=dtype or np.asarray(values).dtype, **kwargs)

    @property
    def width(self):
        return 1

    @property
    def learns_scale(self):
        return self.likelihood == "gaussian"

    def check(self, values):
        bad = ~np.isfinite(values.astype("float64"))
        if bad.any():
            raise ValueError(
                f"Numeric column {self.name!r} has {int(bad.sum())} infinite value(s), first at row "
                f"{int(np.flatnonzero(bad)[0])}; replace or drop them before encoding."
            )

    def encode(self, values):
        standardised = (values.astype("float64") - self.mean_value) / math.sqrt(self.variance)
        return standardised.astype("float32")[:, None]

    def decode(self, encoded):
        values = encoded[:, 0].astype("float64") * math.sqrt(self.variance) + self.mean_value
        return np.rint(values) if pd.api.types.is_integer_dtype(self.dtype) else values

    def nll(self, x, params, log_scale=None):
        return losses.gaussian_nll(x, params, ops.zeros_like(params) if log_scale is None else log_scale)

    def mean(self, params, log_scale=None):
        return params

    def draw(self, params, rng, log_scale=None):
        scale = 1.0 if log_scale is None else np.exp(log_scale)
        return params + scale * rng.standard_normal(params.shape)

    def get_config(self):
        return {
            **super().get_config(),
            "mean": self.mean_value,
            "variance": self.variance,
            "dtype": self.dtype,
            "likelihood": self.likelihood,
        }


def _lookup_layer(value_kind, vocabulary=None, **kwargs):
    """A StringLookup for string values, an IntegerLookup for integers."""
    layer = keras.layers.StringLookup if value_kind == "str" else keras.layers.IntegerLookup
    return layer(vocabulary=vocabulary, **kwargs)


def _look_up(value_kind, vocabulary, values, **kwargs):
    """`values` mapped through a lookup layer over `vocabulary`, as float32 NumPy."""
    layer = _lookup_layer(value_kind, vocabulary, **kwargs)
    return _to_numpy(layer(_as_lookup_input(values, value_kind))).astype("float32")


def _value_kind(values, name):
    """'str' or 'int' for the values of a categorical or binary column; a clear error otherwise."""
    kinds = {type(v) for v in values.tolist()}
    if kinds <= {str}:
        return "str"
    if kinds <= {int, bool}:
        return "int"
    if kinds <= {float} and np.all(np.mod(values.astype("float64"), 1) == 0):
        return "int"
    raise ValueError(
        f"Column {name!r} holds {', '.join(sorted(k.__name__ for k in kinds))} values; a categorical or binary "
        f"column needs all strings or all integers. Convert it (e.g. df[{name!r}].astype(str)) or declare it numeric."
    )


def _as_lookup_input(values, value_kind):
    return values.astype(str).astype(object) if value_kind == "str" else values.astype("int64")


def _known_values(values, name):
    """(value kind, the values as Python str or int): a categorical or binary column's vocabulary, checked."""
    kind = _value_kind(np.asarray(values, dtype=object), name)
    return kind, [str(v) if kind == "str" else int(v) for v in values]


class Categorical(Column):
    """A column of categories (strings or integers) from a fitted vocabulary, plus one unknown slot.

    Encoded as a one-hot of ``1 + len(vocabulary)`` values; slot 0 is
    out-of-vocabulary, so categories unseen in training encode without error.
    Decoding picks among the known categories only.
    """

    kind = "categorical"

    def __init__(self, name, vocabulary, dtype="object", categories=None, ordered=False, weight=1.0):
        super().__init__(name, weight)
        vocabulary = list(vocabulary)
        if len(vocabulary) < 2:
            raise ValueError(
                f"Categorical column {name!r} has {len(vocabulary)} value(s) {vocabulary!r} in the training data: "
                "it carries no information; drop it from the schema, or give the full vocabulary."
            )
        if len(set(vocabulary)) != len(vocabulary):
            raise ValueError(f"The vocabulary of column {name!r} has repeated values: {vocabulary!r}")
        self.value_kind, self.vocabulary = _known_values(vocabulary, name)
        self.dtype = str(dtype)
        self.categories = None if categories is None else list(categories)
        self.ordered = bool(ordered)

    @classmethod
    def fit(cls, name, values, vocabulary=None, **kwargs):
        """Learn the vocabulary (most frequent first) with a lookup layer's `adapt`, unless one is given."""
        if vocabulary is None:
            kind = _value_kind(values, name)
            layer = _lookup_layer(kind)
            layer.adapt(_as_lookup_input(values, kind))
            vocabulary = [v.item() if hasattr(v, "item") else v for v in layer.get_vocabulary()[1:]]
        return cls(name, vocabulary, **kwargs)

    @property
    def width(self):
        return 1 + len(self.vocabulary)

    def encode(self, values):
        return _look_up(self.value_kind, self.vocabulary, values, num_oov_indices=1, output_mode="one_hot")

    def decode(self, encoded):
        index = np.argmax(encoded[:, 1:], axis=1)  # the most likely known category
        return np.asarray(self.vocabulary, dtype=object)[index]

    def nll(self, x, params, log_scale=None):
        x = ops.cast(x, params.dtype)
        return -ops.sum(x * ops.log_softmax(params, axis=-1), axis=-1)

    def mean(self, params, log_scale=None):
        return ops.softmax(params, axis=-1)

    def draw(self, params, rng, log_scale=None):
        logits = params[:, 1:]  # draw among the known categories
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        index = (probs.cumsum(axis=1) < rng.random((len(probs), 1))).sum(axis=1)
        out = np.zeros_like(params)
        out[np.arange(len(params)), 1 + np.minimum(index, logits.shape[1] - 1)] = 1.0
        return out

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary": self.vocabulary,
            "dtype": self.dtype,
            "categories": self.categories,
            "ordered": self.ordered,
        }


class Binary(Column):
    """A column with exactly two values, ``values=[negative, positive]``, encoded as 0 / 1."""

    kind = "binary"

    def __init__(self, name, values, dtype="int64", weight=1.0):
        super().__init__(name, weight)
        values = list(values)
        if len(values) != 2 or values[0] == values[1]:
            raise ValueError(
                f"Binary column {name!r} needs exactly two distinct values [negative, positive]. Received: {values!r}"
            )
        self.dtype = str(dtype)
        self.value_kind, self.values = _known_values(values, name)

    @classmethod
    def fit(cls, name, values, dtype=None, **kwargs):
        """The two values, sorted (False/0 first); anything but exactly two is an error."""
        distinct = sorted(set(values.tolist()))
        if len(distinct) != 2:
            raise ValueError(
                f"Binary column {name!r} has {len(distinct)} distinct value(s) {distinct[:5]!r} in the training "
                "data; a binary column needs exactly two. Declare it categorical or numeric, or drop it."
            )
        return cls(name, distinct, dtype=dtype or values.dtype, **kwargs)

    @property
    def width(self):
        return 1

    def check(self, values):
        allowed = set(self.values)  # True == 1 and 1.0 == 1 here, as in the lookup
        known = np.array([v in allowed for v in values.tolist()], dtype=bool)
        if not known.all():
            raise ValueError(
                f"Binary column {self.name!r} takes the values {self.values!r}, but row {int(np.flatnonzero(~known)[0])} "
                f"holds {values[~known][0]!r}; fix the data or declare the column categorical."
            )

    def encode(self, values):
        return _look_up(self.value_kind, self.values, values, num_oov_indices=0)[:, None]

    def decode(self, encoded):
        return np.asarray(self.values, dtype=object)[(encoded[:, 0] > 0.5).astype(int)]

    def nll(self, x, params, log_scale=None):
        return losses.bernoulli_nll(x, params)

    def mean(self, params, log_scale=None):
        return ops.sigmoid(params)

    def draw(self, params, rng, log_scale=None):
        return (rng.random(params.shape) < 1.0 / (1.0 + np.exp(-params))).astype(params.dtype)

    def get_config(self):
        return {**super().get_config(), "values": self.values, "dtype": self.dtype}


_KINDS = {cls.kind: cls for cls in (Numeric, Categorical, Binary)}


def column_from_config(config):
    """Rebuild a column from its `get_config()`."""
    config = dict(config)
    kind = config.pop("kind", None)
    if kind not in _KINDS:
        raise ValueError(f"Unknown column kind {kind!r}: use one of {', '.join(_KINDS)}.")
    return _KINDS[kind](**config)
