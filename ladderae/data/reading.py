"""The data seam: one place that turns a data source into checked arrays with their shape and kind.

>>> import numpy as np, tempfile, pathlib
>>> folder = tempfile.TemporaryDirectory()
>>> path = pathlib.Path(folder.name) / "points.npy"
>>> np.save(path, np.random.default_rng(0).normal(size=(100, 5)).astype("float32"))
>>> d = load(path)
>>> d.kind, d.example_shape, (len(d.x_train), len(d.x_validation), len(d.x_test))
('vectors', (5,), (81, 9, 10))
>>> folder.cleanup()

A source is a registered data set (``"mnist"``, `ladderae.datasets.load_mnist`,
or your own: `data_source`), a ``.npy`` array, a
``.npz`` archive (``x`` or ``x_train``, optionally ``y``/``y_train``,
``x_test``, ``y_test``; or a single array), a folder of idx files named as
MNIST's are (``train-images-idx3-ubyte[.gz]``, optionally the labels and the
``t10k-`` test files; any count and size), or a ``.csv`` table (other
suffixes: register a reader with `file_reader`). Its kind
follows from its shape: ``(n, features)`` vectors, ``(n, height, width)`` or
``(n, height, width, channels)`` images (kept with a channel axis, so a conv
model reads them as they are), a CSV a table (encoded by a `TabularSchema`
fitted on the training rows only). Labels are the source's own, or `labels`
(one per row of an array source) or a table's `label_column`.

Values: uint8 arrays are grey levels and are scaled to [0, 1]; every other
number is kept as it is, as float32. Refused, with a `DataError` naming the
argument: no rows, other dtypes than numbers, NaN or infinity, labels that do
not match the rows, and a test set whose examples differ in shape (or, for a
table, in columns) from the training ones.

Rows: a source without a test part loses a seeded random `test_split` of its
rows to the test set; `train_size` keeps the first rows of the rest; a seeded
random `validation_split` of those becomes the validation set. The same seed
and fractions give the same rows, so ``ladderae evaluate`` scores the rows
that training held out.
"""

import dataclasses
from pathlib import Path

import numpy as np

from ladderae.data import mnist as datasets
from ladderae.registry import Registry

__all__ = ["Data", "DataError", "load", "KINDS", "sources", "data_source", "readers", "file_reader"]

KINDS = ("images", "vectors", "table")
_NPZ_KEYS = {"x": ("x", "x_train"), "y": ("y", "y_train"), "x_test": ("x_test",), "y_test": ("y_test",)}


class DataError(ValueError):
    """The data cannot be used as given; `argument` names the argument of `load` at fault."""

    def __init__(self, argument, problem):
        super().__init__(f"`{argument}`: {problem}")
        self.argument, self.problem = argument, problem


@dataclasses.dataclass(frozen=True)
class Data:
    """A data set split three ways, with its kind (one of `KINDS`); arrays are float32, examples on the first axis.

    For a table, ``x_*`` hold the schema's encoded matrices, `schema` the
    fitted `TabularSchema` and `frames` the DataFrames they came from.
    Labels are None where the source has none.
    """

    name: str
    kind: str
    x_train: np.ndarray
    x_validation: np.ndarray
    x_test: np.ndarray
    y_train: np.ndarray = None
    y_validation: np.ndarray = None
    y_test: np.ndarray = None
    schema: object = None
    frames: dict = None

    def __post_init__(self):
        # the commands branch on the kind (pictures for images, a schema for a table): a registered source's typo
        # would otherwise pass as vectors
        if self.kind not in KINDS:
            raise ValueError(f"`kind` must be one of {', '.join(KINDS)}. Received: kind={self.kind!r}")

    @property
    def example_shape(self):
        return tuple(self.x_train.shape[1:])

    @property
    def value_range(self):
        """(lowest, highest) value over the three splits."""
        parts = [x for x in (self.x_train, self.x_validation, self.x_test) if x.size]
        return float(min(x.min() for x in parts)), float(max(x.max() for x in parts))

    @property
    def in_unit_interval(self):
        low, high = self.value_range
        return low >= 0 and high <= 1


def load(
    source="mnist",
    *,
    test=None,
    data_dir=None,
    validation_split=0.1,
    test_split=0.1,
    train_size=None,
    test_size=None,
    seed=0,
    schema=None,
    labels=None,
    label_column=None,
):
    """Read `source` (and `test`, a separate test set of the same kind) into a checked, split `Data`.

    Parameters
    ----------
    source : str or os.PathLike
        ``"mnist"``, or the path of a ``.npy``, ``.npz``, ``.csv`` file or an idx folder.
    test : str or os.PathLike, optional
        A separate test set; it replaces any test part of `source`.
    data_dir : str or os.PathLike, optional
        Where MNIST lies (see `ladderae.datasets.load_mnist`).
    validation_split, test_split : float
        Fractions in [0, 1) of the training rows held out for validation, and
        of the rows of a source without a test part held out for the test.
    train_size, test_size : int, optional
        Keep only the first rows of the training (before the validation split) and test data.
    seed : int
        Seed of the random splits.
    schema : TabularSchema, optional
        For a table: encode with this fitted schema (a saved model's) instead
        of fitting one on the training rows.
    labels : array, optional
        One label per row of an array `source` (not of `test`), replacing any it has.
    label_column : str, optional
        For a table: the column that holds the labels (of `test` too); the
        other columns are the features.
    """
    for name, value in (("validation_split", validation_split), ("test_split", test_split)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise DataError(name, f"must be a fraction in [0, 1). Received: {value!r}")
    parts = _read(source, "source", data_dir)
    if labels is not None:
        parts["y"] = _given_labels(labels, parts)
    test_argument, test_name = "source", parts["name"]
    if test is not None:
        test_parts = _read(test, "test", data_dir)
        if test_parts["kind"] != parts["kind"]:
            kinds = {"table": "a CSV table", "arrays": "an array file or idx folder"}
            raise DataError("test", f"{test} is {kinds[test_parts['kind']]} but {source} is {kinds[parts['kind']]}: "
                            "give a test set of the same kind.")
        parts.update(x_test=test_parts["x"], y_test=test_parts["y"])
        test_argument, test_name = "test", test_parts["name"]
    if label_column is not None:
        _split_label_column(parts, label_column, test_name)
    x, y = _checked(parts["x"], parts["y"], parts["kind"], "source", parts["name"])
    x_test, y_test = _checked(parts["x_test"], parts["y_test"], parts["kind"], test_argument, test_name)
    if x_test is not None and parts["kind"] == "arrays" and x_test.shape[1:] != x.shape[1:]:
        raise DataError(test_argument, f"{test_name} has test examples of shape {x_test.shape[1:]} but "
                        f"{parts['name']} has training examples of shape {x.shape[1:]}: give a test set of the "
                        "training data's shape.")
    rng = np.random.default_rng(seed)
    if x_test is None:
        order = rng.permutation(len(x))
        n_test = round(len(x) * test_split)
        if n_test == 0:
            raise DataError("test_split", f"leaves no test rows of the {len(x)} in {parts['name']}: "
                            "raise it or give a separate test set.")
        x_test, y_test = _take(x, order[:n_test]), _take(y, order[:n_test])
        x, y = _take(x, order[n_test:]), _take(y, order[n_test:])
    x, y = _first(x, y, train_size, "train_size")
    x_test, y_test = _first(x_test, y_test, test_size, "test_size")
    order = rng.permutation(len(x))
    n_validation = round(len(x) * validation_split)
    if n_validation >= len(x):
        raise DataError("validation_split", f"leaves none of the {len(x)} training rows to train on: lower it.")
    split = {
        "train": (_take(x, order[n_validation:]), _take(y, order[n_validation:])),
        "validation": (_take(x, order[:n_validation]), _take(y, order[:n_validation])),
        "test": (x_test, y_test),
    }
    if parts["kind"] == "table":
        return _table(parts["name"], split, schema, test_argument)
    kind = "images" if x.ndim == 4 else "vectors"
    return Data(parts["name"], kind, *(xs for xs, _ in split.values()), *(ys for _, ys in split.values()))


# ------------------------------------------------------------------ reading


sources = Registry("data set", "source")
data_source = sources.register
"""Decorator: register a named data set, a function of ``data_dir`` returning ``{"x", "y", "x_test", "y_test"}``
(all but ``x`` may be missing or None; ``x`` a DataFrame for a table). ``load(name)`` and ``--data name`` read it."""

readers = Registry("file format", "source")
file_reader = readers.register
"""Decorator: register a reader for files with a suffix (``".npy"``), a function of ``(path, argument)``
returning ``{"kind": "arrays" or "table", "x", "y", ...}``; raise `DataError(argument, ...)` on a bad file."""


@data_source("mnist")
def _mnist(data_dir):
    (x, y), (x_test, y_test) = datasets.load_mnist(data_dir, flatten=False, as_float=False)
    return dict(x=x, y=y, x_test=x_test, y_test=y_test)


def _read(source, argument, data_dir):
    """{"name", "kind", "x", "y", "x_test", "y_test"} from one source, unchecked (x_test None if it has none)."""
    name = str(source).lower() if str(source).lower() in sources.names else str(source)
    if name in sources.names:
        parts = {"y": None, "x_test": None, "y_test": None, **sources.get(name)(data_dir)}
        import pandas as pd

        return dict(name=name, kind="table" if isinstance(parts["x"], pd.DataFrame) else "arrays", **parts)
    path = Path(source)
    if path.is_dir():
        return _read_idx_folder(path, argument)
    if not path.is_file():
        raise DataError(argument, f"{path} is neither a file nor a folder, nor a registered data set "
                        f"({', '.join(sources.names)}).")
    suffix = path.suffix.lower()
    if suffix not in readers.names:
        raise DataError(argument, f"{path} is not a {', '.join(readers.names)} file nor an idx folder "
                        "(register a reader for its suffix with ladderae.data.file_reader).")
    return {"name": path.name, "x_test": None, "y_test": None, **readers.get(suffix)(path, argument)}


@file_reader(".npy")
def _read_npy(path, argument):
    try:
        return dict(kind="arrays", x=np.load(path, allow_pickle=False), y=None)
    except (ValueError, OSError, EOFError) as err:
        raise DataError(argument, f"{path} is not a readable .npy array of numbers ({err}).") from err


@file_reader(".npz")
def _read_npz(path, argument):
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (ValueError, OSError, EOFError) as err:
        raise DataError(argument, f"{path} is not a readable .npz archive of number arrays ({err}).") from err
    found = {role: next((arrays[k] for k in keys if k in arrays), None) for role, keys in _NPZ_KEYS.items()}
    if found["x"] is None and len(arrays) == 1:
        found["x"] = next(iter(arrays.values()))
    if found["x"] is None:
        raise DataError(argument, f"{path} holds the arrays {sorted(arrays)}; name the examples 'x' (or 'x_train'), "
                        "and optionally 'y', 'x_test', 'y_test'.")
    return dict(kind="arrays", **found)


def _read_idx_folder(path, argument):
    files = datasets.idx_files(path)
    if files["x_train"] is None:
        raise DataError(argument, f"{path} holds no train-images-idx3-ubyte[.gz]: an idx folder needs it, and "
                        "optionally train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte.")
    sums = datasets.read_sha256sums(path)
    arrays = {key: None if file is None else datasets.read_idx(file, sums) for key, file in files.items()}
    return dict(name=path.name, kind="arrays", x=arrays["x_train"], y=arrays["y_train"],
                x_test=arrays["x_test"], y_test=arrays["y_test"])


@file_reader(".csv")
def _read_csv(path, argument):
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except (ValueError, OSError, pd.errors.ParserError) as err:
        raise DataError(argument, f"{path} is not a readable CSV table ({err}).") from err
    return dict(kind="table", x=frame, y=None)


# ------------------------------------------------------------------- labels


def _given_labels(labels, parts):
    """`labels` for the rows of an array source, or a DataError naming `labels`."""
    if parts["kind"] == "table":
        raise DataError("labels", f"{parts['name']} is a table: its labels are one of its columns (label_column).")
    labels = np.asarray(labels)
    if labels.shape != (len(parts["x"]),):
        raise DataError("labels", f"holds labels of shape {labels.shape}, but {parts['name']} has {len(parts['x'])} "
                        "rows: give one label per row.")
    return labels


def _split_label_column(parts, column, test_name):
    """Move a table's `column` from its features (x, x_test) to its labels (y, y_test)."""
    if parts["kind"] != "table":
        raise DataError("label_column", f"names a column of a table, but {parts['name']} holds arrays: give their "
                        "labels as an array instead (labels).")
    for x, y, name in (("x", "y", parts["name"]), ("x_test", "y_test", test_name)):
        frame = parts[x]
        if frame is None:
            continue
        if column not in frame.columns:
            raise DataError("label_column", f"{name} has no column {column!r}; its columns are "
                            f"{', '.join(map(str, frame.columns))}.")
        parts[x], parts[y] = frame.drop(columns=column), frame[column].to_numpy()


# ----------------------------------------------------------------- checking


def _take(values, rows):
    """Rows of an array or DataFrame (None stays None)."""
    if values is None:
        return None
    return values.iloc[rows] if hasattr(values, "iloc") else values[rows]


def _first(x, y, size, argument):
    """The first `size` rows of x and y (all for None), or a DataError naming `argument`."""
    if size is None:
        return x, y
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 1 <= size <= len(x):
        raise DataError(argument, f"must be between 1 and {len(x)}, the rows there are. Received: {size!r}")
    return _take(x, np.arange(size)), _take(y, np.arange(size))


def _checked(x, y, kind, argument, name):
    """Examples and labels of one source as `load` uses them (None stays None); a DataError says what is wrong."""
    if x is None:
        return None, None
    if kind == "arrays":
        x = _examples(x, argument, name)
    elif len(x) == 0:
        raise DataError(argument, f"{name} has no rows.")
    if y is not None:
        y = np.asarray(y)
        if y.shape != (len(x),):
            raise DataError(argument, f"{name} has labels of shape {y.shape} for {len(x)} examples: "
                            "give one label per row.")
    return x, y


def _examples(x, argument, name):
    """`x` as float32 examples (uint8 scaled to [0, 1], images with a channel axis), or a DataError saying why not."""
    x = np.asarray(x)
    if x.dtype.kind not in "uifb":
        raise DataError(argument, f"{name} holds {x.dtype} values: give numbers (ints, floats or bools).")
    if x.ndim < 2 or len(x) == 0:
        raise DataError(argument, f"{name} holds an array of shape {x.shape}: give one example per row, "
                        "shape (rows, features) or (rows, height, width[, channels]), with at least one row.")
    if x.ndim > 4 or (x.ndim == 4 and x.shape[-1] > 4):
        raise DataError(argument, f"{name} holds examples of shape {x.shape[1:]}: give vectors (rows, features) or "
                        "images (rows, height, width) or (rows, height, width, channels) with 1 to 4 channels.")
    scaled = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    finite = np.isfinite(scaled.reshape(len(x), -1))
    if not finite.all():
        rows = np.flatnonzero(~finite.all(axis=1))
        raise DataError(argument, f"{name} holds NaN or infinite values in {len(rows)} row(s) (first: row {rows[0]}): "
                        "fill or drop those rows first.")
    return scaled[..., None] if x.ndim == 3 else scaled


def _table(name, split, schema, test_argument):
    """`Data` of a table from its {split: (frame, labels)}: the schema fitted on the training rows (or the one
    given) encodes every split."""
    from ladderae.data.schema import TabularSchema

    frames = {key: frame for key, (frame, _) in split.items()}
    try:
        schema = schema or TabularSchema.from_frame(frames["train"])
    except ValueError as err:
        raise DataError("source", f"{name}: {err}") from err
    encoded = {}
    for key, frame in frames.items():
        if len(frame) == 0:  # no validation rows
            encoded[key] = np.zeros((0, schema.width), np.float32)
            continue
        try:
            encoded[key] = schema.transform(frame)
        except ValueError as err:
            raise DataError(test_argument if key == "test" else "source", f"{name} ({key} rows): {err}") from err
    return Data(name, "table", encoded["train"], encoded["validation"], encoded["test"],
                *(labels for _, labels in split.values()), schema=schema,
                frames={key: frame.reset_index(drop=True) for key, frame in frames.items()})
