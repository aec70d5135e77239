"""Loading MNIST, offline first, with integrity checks.

`load_mnist` reads the four canonical idx files (gzipped or not) or a Keras
``mnist.npz`` from a local folder and only falls back to Keras' downloader
when no local copy is configured. Every file is checked (idx header, shapes,
counts, byte length, label range and, when a ``SHA256SUMS`` file sits next to
the data, its hash) so that a truncated or wrong file fails loudly instead of
silently training on garbage. Where a ``SHA256SUMS`` file is present, every
file read must be listed in it: a gunzipped ``.gz`` is checked by its own line
(the hash of the decompressed file), never waved through.

`read_idx` reads any idx file of unsigned bytes (a user's own images or labels
of any count and size); `ladderae.data` builds on it for data other than MNIST.

`binarize` gives the fixed, seeded Bernoulli binarisation that the
literature uses for the binarised MNIST test set.
"""

import gzip
import hashlib
import io
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

__all__ = ["DataNotFoundError", "DataIntegrityError", "load_mnist", "binarize", "read_idx", "read_sha256sums", "idx_files", "IMAGE_SHAPE"]

IMAGE_SHAPE = (28, 28)  # MNIST's digits; every other module reads shapes from the data
_SPLITS = {"train": 60000, "test": 10000}
_IDX_STEMS = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
_UBYTE_IDX = 0x0800  # idx magic number of unsigned bytes, plus the number of dimensions
_IMAGE_MAGIC, _LABEL_MAGIC = _UBYTE_IDX + 3, _UBYTE_IDX + 1
_NPZ_NAME = "mnist.npz"
_NPZ_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
_ENV_VAR = "LADDERAE_DATA"


class DataNotFoundError(FileNotFoundError):
    """No usable copy of the data set was found (or could be downloaded)."""


class DataIntegrityError(ValueError):
    """A data file exists but is corrupt, truncated or not what it claims."""


def load_mnist(data_dir=None, *, flatten=True, as_float=True):
    """Load MNIST from local files, falling back to a Keras download.

    Search order: (1) ``data_dir``; (2) ``$LADDERAE_DATA/mnist/``;
    (3) Keras' cache ``$KERAS_HOME/datasets/mnist.npz`` (default
    ``~/.keras/datasets/mnist.npz``); (4) ``keras.datasets.mnist.load_data()``,
    which downloads. A folder given by ``data_dir`` or ``LADDERAE_DATA`` may
    be either the folder holding the files or a data root with a ``mnist/``
    subfolder; if it has no usable files, `DataNotFoundError` is raised
    rather than silently downloading.

    A folder is usable when it holds the four idx files
    (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each optionally
    ``.gz``) or a Keras ``mnist.npz``.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Folder with the files, or a data root containing ``mnist/``.
    flatten : bool
        Return images as ``(n, 784)`` instead of ``(n, 28, 28)``.
    as_float : bool
        Return images as float32 in [0, 1] instead of uint8 in [0, 255].

    Returns
    -------
    ((x_train, y_train), (x_test, y_test))
        60000 training and 10000 test examples; labels are uint8 in 0..9.

    Raises
    ------
    DataNotFoundError
        No local copy and the download failed, or an explicitly configured
        folder holds no usable files.
    DataIntegrityError
        A file is corrupt, truncated, of the wrong shape or fails its
        ``SHA256SUMS`` entry.
    """
    cache = _keras_cache()
    if data_dir is not None:
        arrays = _load_configured(Path(data_dir), "data_dir")
    elif os.environ.get(_ENV_VAR):
        arrays = _load_configured(Path(os.environ[_ENV_VAR]), f"${_ENV_VAR}")
    elif cache.is_file():
        arrays = _read_npz(cache, read_sha256sums(cache.parent))
    else:
        arrays = _download()
    return tuple(
        (_format_images(arrays[f"x_{s}"], flatten, as_float), arrays[f"y_{s}"])
        for s in _SPLITS
    )


def binarize(x, seed):
    """Fixed Bernoulli binarisation: each pixel is 1 with probability ``x``.

    This is the static binarisation used for the binarised MNIST test set:
    the same ``seed`` always gives the same 0/1 array, so likelihoods are
    comparable across runs.

    Parameters
    ----------
    x : array_like of float
        Probabilities in [0, 1], e.g. ``load_mnist()`` images.
    seed : int
        Seed for `numpy.random.default_rng`.

    Returns
    -------
    numpy.ndarray
        float32 array of 0.0/1.0 with the shape of ``x``.
    """
    x = _check_unit_interval(x, "x")
    u = np.random.default_rng(seed).random(x.shape, dtype=np.float32)
    return (u < x).astype(np.float32)


def _check_unit_interval(x, name):
    """Return ``x`` as float32 after checking it is a float array in [0, 1]."""
    x = np.asarray(x)
    if x.size == 0:
        raise ValueError(f"`{name}` is empty.")
    lo, hi = x.min(), x.max()
    if not np.issubdtype(x.dtype, np.floating) or not (lo >= 0 and hi <= 1):
        raise ValueError(
            f"`{name}` must be a float array with values in [0, 1] (pixel "
            f"probabilities), got dtype {x.dtype} with range [{lo}, {hi}]. "
            f"For uint8 images pass `{name}.astype('float32') / 255`."
        )
    return x.astype(np.float32, copy=False)


def _format_images(x, flatten, as_float):
    """Reshape and rescale uint8 images as requested (divided in place: one float copy of the set, not two)."""
    if flatten:
        x = x.reshape(len(x), -1)
    if not as_float:
        return x
    out = x.astype(np.float32)
    out /= np.float32(255.0)
    return out


def _keras_cache():
    """Path of Keras' cached ``mnist.npz`` (honours ``KERAS_HOME``)."""
    home = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(home) / "datasets" / _NPZ_NAME


def _load_configured(path, source):
    """Load from an explicitly configured folder or data root, never download."""
    for folder in (path, path / "mnist"):
        if all(_find_idx(folder, stem) for stem in _IDX_STEMS.values()):
            return _load_idx_folder(folder)
        if (folder / _NPZ_NAME).is_file():
            return _read_npz(folder / _NPZ_NAME, read_sha256sums(folder))
    raise DataNotFoundError(
        f"No MNIST files in {path} or {path / 'mnist'} (given by {source}).\n"
        + _how_to_provide()
    )


def _download():
    """Last resort: Keras' downloader, with an actionable error when offline."""
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as err:
        raise DataNotFoundError(
            f"MNIST is not available locally and downloading it failed ({err}).\n"
            + _how_to_provide()
        ) from err
    arrays = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    sources = {key: f"keras.datasets.mnist.load_data()[{key}]" for key in arrays}
    return _check_arrays(arrays, sources)


def _how_to_provide():
    """Instructions listing the expected files and how to point at them."""
    names = ", ".join(f"{stem}[.gz]" for stem in _IDX_STEMS.values())
    return (
        f"Provide either the four idx files ({names}; gzipped or not) or "
        f"Keras' {_NPZ_NAME} ({_NPZ_URL}) in one folder, then either call "
        f"load_mnist(data_dir='/path/to/that/folder') or set "
        f"{_ENV_VAR}=<root> with the files in <root>/mnist/. "
        f"With neither set, Keras' cache {_keras_cache()} is used if present."
    )


def _find_idx(folder, stem):
    """Path of ``stem.gz`` or ``stem`` in ``folder`` (gzip preferred), or None."""
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def idx_files(folder):
    """MNIST's four idx file names in ``folder``: ``{"x_train": path or None, "y_train": ..., "x_test": ..., "y_test": ...}``.

    Fashion-MNIST, KMNIST and a user's own idx data often keep these names.
    """
    return {key: _find_idx(Path(folder), stem) for key, stem in _IDX_STEMS.items()}


def _load_idx_folder(folder):
    """Read and check the four idx files in ``folder``."""
    sums = read_sha256sums(folder)
    paths = idx_files(folder)
    magics = {key: _LABEL_MAGIC if key[0] == "y" else _IMAGE_MAGIC for key in paths}
    arrays = {key: read_idx(path, sums, magics[key]) for key, path in paths.items()}
    return _check_arrays(arrays, {key: str(path) for key, path in paths.items()})


def read_sha256sums(folder):
    """Map file name -> lowercase hex sha256 from ``folder/SHA256SUMS`` (empty without that file)."""
    path = folder / "SHA256SUMS"
    if not path.is_file():
        return {}
    sums = {}
    for line in path.read_text().splitlines():
        parts = line.split(maxsplit=1)
        if len(parts) == 2:  # "<hex digest>  <name>" or "<hex digest> *<name>"
            sums[parts[1].lstrip("*").strip()] = parts[0].lower()
    return sums


def _read_bytes(path, sums):
    """Raw bytes of ``path``, checked against its ``SHA256SUMS`` entry.

    With no sums file (``sums`` empty) nothing is checked. With one, a file it
    does not list is refused: a gunzipped copy of a listed ``.gz`` would
    otherwise load unchecked.
    """
    raw = path.read_bytes()
    if not sums:
        return raw
    expected = sums.get(path.name)
    if expected is None:
        raise DataIntegrityError(
            f"{path} is not listed in {path.parent / 'SHA256SUMS'}, so it cannot be checked. Keep the listed file "
            f"({', '.join(sorted(sums)[:4])}...) instead, or add its line with "
            f"`sha256sum {path.name} >> SHA256SUMS` once you trust it."
        )
    actual = hashlib.sha256(raw).hexdigest()
    if actual != expected:
        raise _integrity_error(
            path, f"has sha256 {actual}, but SHA256SUMS expects {expected}"
        )
    return raw


def read_idx(path, sums=None, magic=None):
    """An idx file of unsigned bytes (gzipped if its name ends in ``.gz``) as a uint8 array of its header's shape.

    Parameters
    ----------
    path : str or os.PathLike
    sums : dict, optional
        File name -> sha256 hex digest (a ``SHA256SUMS`` file, read); the file
        must be listed when given.
    magic : int, optional
        The magic number to insist on (2051 for MNIST's images, 2049 for its
        labels); by default any unsigned-byte idx file of 1 to 4 dimensions.

    Raises
    ------
    DataIntegrityError
        Not valid gzip, another magic number, or fewer or more bytes than the
        header promises.
    """
    path = Path(path)
    data = _read_bytes(path, sums or {})
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise _integrity_error(path, f"is not valid gzip ({err})") from err
    found = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
    allowed = [magic] if magic is not None else [_UBYTE_IDX + n for n in range(1, 5)]
    if found not in allowed:
        raise _integrity_error(
            path, f"has idx magic number {found if found is not None else 'nothing'}, not {' or '.join(map(str, allowed))}"
        )
    ndim = found & 0xFF
    header = 4 + 4 * ndim
    dims = [int.from_bytes(data[i : i + 4], "big") for i in range(4, header, 4)]
    expected_len = header + int(np.prod(dims))
    if len(data) != expected_len:
        raise _integrity_error(
            path,
            f"is {len(data)} bytes (uncompressed) but its header {dims} "
            f"promises {expected_len}",
        )
    # Copy: frombuffer views the immutable bytes, callers get a writable array.
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims).copy()


def _read_npz(path, sums):
    """Read and check a Keras-style ``mnist.npz``."""
    raw = _read_bytes(path, sums)
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as f:
            arrays = {key: f[key] for key in _IDX_STEMS if key in f.files}
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError) as err:
        raise _integrity_error(path, f"is not a readable npz file ({err})") from err
    missing = sorted(set(_IDX_STEMS) - set(arrays))
    if missing:
        raise _integrity_error(path, f"lacks the arrays {missing}")
    return _check_arrays(arrays, {key: f"{path}[{key}]" for key in arrays})


def _check_arrays(arrays, sources):
    """Check shapes, dtypes, counts and label range of the four MNIST arrays.

    ``sources`` names where each array came from, for the error messages.
    Returns the arrays with labels as uint8.
    """
    checked = {}
    for split, count in _SPLITS.items():
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        x_src, y_src = sources[f"x_{split}"], sources[f"y_{split}"]
        expected = (count, *IMAGE_SHAPE)
        if x.dtype == np.uint8 and x.ndim == 3 and x.shape != expected:
            raise DataIntegrityError(
                f"{x_src} holds {x.shape[0]} images of {x.shape[1]}x{x.shape[2]}, but MNIST's {split} set has "
                f"{expected[0]} of {IMAGE_SHAPE[0]}x{IMAGE_SHAPE[1]}: these are other data, not a damaged MNIST file. "
                "Load your own idx files with ladderae.data.load(folder) or `ladderae train --data FOLDER`."
            )
        if x.dtype != np.uint8 or x.shape != expected:
            raise _integrity_error(
                x_src,
                f"holds {x.dtype} images of shape {x.shape}, expected uint8 of shape {expected}",
            )
        if y.shape != (len(x),):
            raise _integrity_error(
                y_src,
                f"holds labels of shape {y.shape}, expected ({len(x)},) "
                f"to match its {len(x)} images",
            )
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() > 9:
            raise _integrity_error(
                y_src,
                f"holds labels outside 0..9 (dtype {y.dtype}, "
                f"range [{y.min()}, {y.max()}])",
            )
        checked[f"x_{split}"], checked[f"y_{split}"] = x, y.astype(np.uint8)
    return checked


def _integrity_error(source, problem):
    """`DataIntegrityError` naming the file, the problem and the fix."""
    return DataIntegrityError(
        f"{source} {problem}. The file is corrupt or not the MNIST file it is "
        "named after; delete it and download it again."
    )
