"""`TabularSchema`: which columns of a table a model sees, their kinds and weights, and their fitted encodings.

Build one from a training DataFrame (kinds inferred, every choice
overridable) or from a list of columns. `transform` turns a frame into the
float32 matrix a `TabularLadderAE` trains on (columns side by side, in schema
order); `to_frame` turns encoded means or draws back into a DataFrame with the
original column names, dtypes and categories. Bad data fails with an error
naming the column: missing columns, missing values, infinities, unknown binary
values, dtypes that are neither numbers nor categories, numbers stored as
strings (which would become one category per number), frames without rows.
Columns of the frame that the schema does not list are not used.
"""

import re

import numpy as np
import pandas as pd

from ladderae.data.columns import Binary, Categorical, Column, Numeric, column_from_config

__all__ = ["TabularSchema"]


def _check_names(argument, names, frame_columns):
    unknown = [n for n in names if n not in frame_columns]
    if unknown:
        raise ValueError(
            f"`{argument}` names column(s) {unknown!r} that the frame does not have. Columns: {list(frame_columns)!r}"
        )


def _infer_kind(series):
    """'binary', 'numeric' or 'categorical' from a pandas column, or None for dtypes no kind covers."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "binary"
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype) or dtype == object:
        return "categorical"
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        distinct = series.dropna().unique()
        return "binary" if len(distinct) == 2 and set(distinct.tolist()) <= {0, 1} else "numeric"
    return None


def _check_rows(argument, frame):
    if len(frame) == 0:
        raise ValueError(f"`{argument}` has no rows; pass a DataFrame with at least one row.")


def _check_not_numbers_as_strings(name, series):
    """A ValueError if a string/object column holds numbers (90% of its values or more).

    Read as a category, such a column silently gets one level per distinct
    number; the 90% lets a few placeholders such as "?" not hide it.
    """
    parsed = pd.to_numeric(series.astype(str).str.strip(), errors="coerce")
    if parsed.notna().mean() < 0.9:
        return
    message = (
        f"Column {name!r} holds numbers stored as {series.dtype} values (e.g. {series.iloc[0]!r}): as a category it "
        f"would get {series.nunique()} levels. Convert it with df[{name!r}] = pd.to_numeric(df[{name!r}]), or "
        f"declare categorical=[{name!r}] if the numbers are codes."
    )
    rows = np.flatnonzero(parsed.isna().to_numpy())
    if len(rows):
        message += (
            f" {len(rows)} value(s) are not numbers (first {series.iloc[rows[0]]!r} at row {int(rows[0])}): "
            f"use pd.to_numeric(df[{name!r}], errors='coerce') and fill or drop the missing values it leaves."
        )
    raise ValueError(message)


class TabularSchema:
    """An ordered list of `Numeric`, `Categorical` and `Binary` columns with their fitted encodings."""

    def __init__(self, columns):
        columns = list(columns)
        if not columns:
            raise ValueError("A TabularSchema needs at least one column.")
        for column in columns:
            if not isinstance(column, Column):
                raise ValueError(f"`columns` must hold Numeric, Categorical or Binary columns. Received: {column!r}")
        names = [c.name for c in columns]
        if len(set(names)) != len(names):
            raise ValueError(f"Column names must be unique. Received: {names!r}")
        metric_names = [self._metric_name(n) for n in names]
        if len(set(metric_names)) != len(metric_names):
            raise ValueError(f"Column names {names!r} give clashing metric names {metric_names!r}; rename the columns.")
        self.columns = columns

    # -------------------------------------------------------------- building

    @classmethod
    def from_frame(
        cls, frame, columns=None, *, numeric=(), categorical=(), binary=(), weights=None, numeric_likelihood="gaussian"
    ):
        """Infer and fit a schema on a training DataFrame.

        bool columns and numeric columns holding only 0 and 1 become `Binary`;
        other numbers `Numeric`; strings, objects and pandas categoricals
        `Categorical` (the categorical dtype's categories are its vocabulary,
        in order; otherwise the training values, most frequent first).
        `numeric`, `categorical` and `binary` override the inferred kind of the
        columns they name; `columns` selects (and orders) the columns used;
        `weights` maps column names to their weight in the loss (default 1).
        """
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(f"`frame` must be a pandas DataFrame. Received: {type(frame).__name__}")
        _check_rows("frame", frame)
        columns = list(frame.columns) if columns is None else list(columns)
        weights = dict(weights or {})
        overrides = {}
        for argument, names in (("numeric", numeric), ("categorical", categorical), ("binary", binary)):
            names = [names] if isinstance(names, str) else list(names)
            _check_names(argument, names, frame.columns)
            for name in names:
                if name in overrides:
                    raise ValueError(f"Column {name!r} is declared both {overrides[name]} and {argument}.")
                overrides[name] = argument
        _check_names("columns", columns, frame.columns)
        _check_names("weights", weights, columns)
        outside = [n for n in overrides if n not in columns]
        if outside:
            raise ValueError(f"Column(s) {outside!r} have a declared kind but are not in `columns`; add them there.")
        fitted = []
        for name in columns:
            series = frame[name]
            cls._check_missing(name, series)
            kind = overrides.get(name) or _infer_kind(series)
            if name not in overrides and kind == "categorical" and not isinstance(series.dtype, pd.CategoricalDtype):
                _check_not_numbers_as_strings(name, series)
            if kind is None:
                raise ValueError(
                    f"Column {name!r} has dtype {series.dtype}, which is neither numeric nor categorical. Convert it "
                    "(e.g. a date to a number), declare its kind (numeric=[...] / categorical=[...]), or leave it "
                    "out of `columns`."
                )
            fitted.append(cls._fit_column(kind, name, series, weights.get(name, 1.0), numeric_likelihood))
        return cls(fitted)

    @staticmethod
    def _fit_column(kind, name, series, weight, numeric_likelihood):
        values = series.to_numpy()
        if kind == "numeric":
            if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
                raise ValueError(
                    f"Column {name!r} is declared numeric but has dtype {series.dtype}; convert it with "
                    f"pd.to_numeric(df[{name!r}]) or declare it categorical."
                )
            column = Numeric.fit(name, values, dtype=str(series.dtype), likelihood=numeric_likelihood, weight=weight)
            column.check(values)
            return column
        if kind == "binary":
            return Binary.fit(name, values, dtype=str(series.dtype), weight=weight)
        if isinstance(series.dtype, pd.CategoricalDtype):
            categories = series.cat.categories.tolist()
            return Categorical(
                name, categories, dtype="category", categories=categories, ordered=series.cat.ordered, weight=weight
            )
        return Categorical.fit(name, values, dtype=str(series.dtype), weight=weight)

    @staticmethod
    def _check_missing(name, series):
        missing = series.isna().to_numpy()
        if missing.any():
            rows = np.flatnonzero(missing)
            raise ValueError(
                f"Column {name!r} has {len(rows)} missing value(s) (first at row {int(rows[0])}). ladderae does not "
                f"impute: fill them (df[{name!r}].fillna(...)) or drop the rows (df.dropna(subset=[{name!r}]))."
            )

    # ------------------------------------------------------------ properties

    @property
    def names(self):
        return [c.name for c in self.columns]

    @property
    def width(self):
        """Width of the encoded matrix (and of the model's output parameters)."""
        return sum(c.width for c in self.columns)

    @property
    def slices(self):
        """(column, start, stop) of each column in the encoded matrix."""
        out, start = [], 0
        for column in self.columns:
            out.append((column, start, start + column.width))
            start += column.width
        return out

    @staticmethod
    def _metric_name(name):
        return "nll_" + re.sub(r"\W", "_", name)

    @property
    def metric_names(self):
        """The per-column metric names, ``nll_<column>``, in schema order."""
        return [self._metric_name(c.name) for c in self.columns]

    # ------------------------------------------------------------ conversion

    def transform(self, frame):
        """The float32 matrix (rows, width) of `frame`'s schema columns, standardised and one-hot encoded."""
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(
                f"Expected a pandas DataFrame with columns {self.names!r}. Received: {type(frame).__name__}"
            )
        _check_names("frame", self.names, frame.columns)
        _check_rows("frame", frame)
        parts = []
        for column in self.columns:
            series = frame[column.name]
            self._check_missing(column.name, series)
            values = series.to_numpy()
            if isinstance(column, Numeric) and not pd.api.types.is_numeric_dtype(series.dtype):
                raise ValueError(
                    f"Column {column.name!r} is numeric in the schema but has dtype {series.dtype} in this frame; "
                    f"convert it with pd.to_numeric(df[{column.name!r}])."
                )
            column.check(values)
            parts.append(column.encode(values))
        return np.concatenate(parts, axis=1)

    def to_frame(self, encoded, index=None):
        """A DataFrame in the original column names, dtypes and categories from encoded means or draws."""
        encoded = np.asarray(encoded)
        if encoded.ndim != 2 or encoded.shape[1] != self.width:
            raise ValueError(f"Expected an array of shape (rows, {self.width}). Received: {encoded.shape}")
        data = {}
        for column, start, stop in self.slices:
            values = column.decode(encoded[:, start:stop])
            if column.dtype == "category":
                values = pd.Categorical(values, categories=column.categories, ordered=column.ordered)
            data[column.name] = pd.Series(values, index=index).astype(column.dtype)
        return pd.DataFrame(data, index=index)

    # ---------------------------------------------------------------- config

    def get_config(self):
        return {"columns": [c.get_config() for c in self.columns]}

    @classmethod
    def from_config(cls, config):
        return cls([column_from_config(c) for c in config["columns"]])

    def __repr__(self):
        return f"TabularSchema({self.columns!r})"
