"""Tests for ladderae.datasets: offline MNIST loading, integrity checks, binarize."""

import gzip
import hashlib

import numpy as np
import pytest

from ladderae.data.mnist import (
    DataIntegrityError,
    DataNotFoundError,
    binarize,
    load_mnist,
    read_idx,
)

STEMS = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def idx_bytes(array, magic=None):
    """Serialise a uint8 array in idx format (magic 2051 for 3-d, 2049 for 1-d)."""
    magic = magic if magic is not None else (2051 if array.ndim == 3 else 2049)
    dims = b"".join(d.to_bytes(4, "big") for d in array.shape)
    return magic.to_bytes(4, "big") + dims + array.astype(np.uint8).tobytes()


@pytest.fixture(scope="session")
def fake_arrays():
    """Full-size synthetic MNIST whose splits and examples are distinguishable."""
    arrays = {}
    for split, n, offset in (("train", 60000, 0), ("test", 10000, 3)):
        x = np.zeros((n, 28, 28), np.uint8)
        x[:, 0, 0] = (np.arange(n) + offset) % 256
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x, (np.arange(n) + offset) % 10
    return {k: v.astype(np.uint8) for k, v in arrays.items()}


@pytest.fixture(scope="session")
def fake_dir(tmp_path_factory, fake_arrays):
    """Folder with the synthetic arrays as uncompressed idx files."""
    folder = tmp_path_factory.mktemp("fake_mnist")
    for key, stem in STEMS.items():
        (folder / stem).write_bytes(idx_bytes(fake_arrays[key]))
    return folder


def folder_with(tmp_path, fake_dir, replace):
    """``tmp_path`` linking to the good synthetic files, except ``replace``.

    ``replace`` maps an array key to the (file name, bytes) written instead.
    """
    for key, stem in STEMS.items():
        if key in replace:
            name, data = replace[key]
            (tmp_path / name).write_bytes(data)
        else:
            (tmp_path / stem).symlink_to(fake_dir / stem)
    return tmp_path


@pytest.fixture
def keras_mnist():
    """The ``keras.datasets.mnist`` module, to patch ``load_data``."""
    import keras

    return keras.datasets.mnist


def assert_same(loaded, arrays):
    (x_train, y_train), (x_test, y_test) = loaded
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_train, arrays["y_train"])
    np.testing.assert_array_equal(x_test, arrays["x_test"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])


def test_real_mnist_shapes_dtypes_and_range(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert x_train.dtype == x_test.dtype == np.float32
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert y_train.dtype == y_test.dtype == np.uint8
    assert set(np.unique(y_train)) == set(range(10))
    np.testing.assert_array_equal(y_train[:5], [5, 0, 4, 1, 9])
    np.testing.assert_array_equal(y_test[:5], [7, 2, 1, 0, 4])


def test_data_dir_may_be_the_mnist_folder(data_root, mnist):
    (x_train, y_train), (x_test, _) = load_mnist(
        data_root / "mnist", flatten=False, as_float=False
    )
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert x_train.max() == 255
    np.testing.assert_array_equal(x_test.reshape(10000, -1), mnist[1][0] * 255)
    np.testing.assert_array_equal(y_train, mnist[0][1])


def test_env_var_names_the_data_root(monkeypatch, data_root, mnist):
    monkeypatch.setenv("LADDERAE_DATA", str(data_root))
    (_, y_train), (_, y_test) = load_mnist()
    np.testing.assert_array_equal(y_train, mnist[0][1])
    np.testing.assert_array_equal(y_test, mnist[1][1])


def test_uncompressed_idx_files_match_gzipped(tmp_path, data_root, mnist):
    for stem in STEMS.values():
        gz = data_root / "mnist" / f"{stem}.gz"
        (tmp_path / stem).write_bytes(gzip.decompress(gz.read_bytes()))
    assert_same(
        load_mnist(tmp_path),
        dict(x_train=mnist[0][0], y_train=mnist[0][1],
             x_test=mnist[1][0], y_test=mnist[1][1]),
    )


def test_synthetic_idx_splits_kept_apart(fake_dir, fake_arrays):
    assert_same(load_mnist(fake_dir, flatten=False, as_float=False), fake_arrays)


def test_npz_in_mnist_subfolder_of_root(tmp_path, fake_arrays):
    (tmp_path / "mnist").mkdir()
    np.savez(tmp_path / "mnist" / "mnist.npz", **fake_arrays)
    assert_same(load_mnist(tmp_path, flatten=False, as_float=False), fake_arrays)


def test_npz_missing_array_is_integrity_error(tmp_path, fake_arrays):
    np.savez(tmp_path / "mnist.npz", x_train=fake_arrays["x_train"])
    with pytest.raises(DataIntegrityError, match=r"mnist\.npz.*y_test"):
        load_mnist(tmp_path)


def test_keras_cache_used_before_download(
    tmp_path, monkeypatch, fake_arrays, keras_mnist
):
    monkeypatch.delenv("LADDERAE_DATA", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "datasets").mkdir()
    np.savez(tmp_path / "datasets" / "mnist.npz", **fake_arrays)
    monkeypatch.setattr(keras_mnist, "load_data", pytest.fail)
    assert_same(load_mnist(flatten=False, as_float=False), fake_arrays)


def test_download_result_is_used_and_checked(
    tmp_path, monkeypatch, fake_arrays, keras_mnist
):
    monkeypatch.delenv("LADDERAE_DATA", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    splits = ((fake_arrays["x_train"], fake_arrays["y_train"]),
              (fake_arrays["x_test"], fake_arrays["y_test"]))
    monkeypatch.setattr(keras_mnist, "load_data", lambda: splits)
    assert_same(load_mnist(flatten=False, as_float=False), fake_arrays)
    bad = ((splits[0][0], splits[0][1][:-1]), splits[1])
    monkeypatch.setattr(keras_mnist, "load_data", lambda: bad)
    with pytest.raises(DataIntegrityError, match=r"y_train.*59999"):
        load_mnist()


@pytest.mark.parametrize(
    "key, name, data, problem",
    [
        ("y_train", STEMS["y_train"], idx_bytes(np.zeros(60000), magic=2051),
         "magic number 2051"),
        ("y_train", STEMS["y_train"], idx_bytes(np.zeros(60000))[:-1], "promises"),
        ("y_test", STEMS["y_test"] + ".gz",
         gzip.compress(idx_bytes(np.zeros(10000)))[:-9], "gzip"),
        ("y_train", STEMS["y_train"], idx_bytes(np.zeros(59999)), r"\(59999,\)"),
        ("y_test", STEMS["y_test"], idx_bytes(np.full(10000, 10)), r"0\.\.9"),
    ],
    ids=["bad-magic", "truncated", "truncated-gzip", "wrong-count", "label-range"],
)
def test_corrupt_idx_file_is_named(tmp_path, fake_dir, key, name, data, problem):
    folder = folder_with(tmp_path, fake_dir, {key: (name, data)})
    with pytest.raises(DataIntegrityError, match=problem) as excinfo:
        load_mnist(folder)
    assert name in str(excinfo.value) and "download it again" in str(excinfo.value)


@pytest.mark.parametrize("key, shape", [("x_test", (10000, 28, 27)), ("x_train", (500, 28, 28))],
                         ids=["other-size", "other-count"])
def test_own_idx_data_are_told_apart_from_a_damaged_mnist(tmp_path, fake_dir, key, shape):
    folder = folder_with(tmp_path, fake_dir, {key: (STEMS[key], idx_bytes(np.zeros(shape)))})
    with pytest.raises(DataIntegrityError) as excinfo:
        load_mnist(folder)
    message = str(excinfo.value)
    assert f"{shape[0]} images of {shape[1]}x{shape[2]}" in message and "ladderae.data.load" in message
    assert "download it again" not in message


def test_read_idx_reads_any_count_and_size(tmp_path):
    images = np.arange(5 * 3 * 4, dtype=np.uint8).reshape(5, 3, 4)
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(images)))
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), images)
    (tmp_path / "b").write_bytes(idx_bytes(images, magic=0x0D03))  # idx of float32: not unsigned bytes
    with pytest.raises(DataIntegrityError, match="magic number 3331"):
        read_idx(tmp_path / "b")


def test_sha256sums_check_gunzipped_files_too(tmp_path, data_root):
    """A gunzipped idx file next to a SHA256SUMS that lists only the .gz names is refused, not loaded unchecked."""
    source = data_root / "mnist"
    for stem in STEMS.values():
        (tmp_path / stem).write_bytes(gzip.decompress((source / f"{stem}.gz").read_bytes()))
    (tmp_path / "SHA256SUMS").write_text((source / "SHA256SUMS").read_text())
    with pytest.raises(DataIntegrityError, match="not listed in .*SHA256SUMS.*sha256sum") as excinfo:
        load_mnist(tmp_path)
    assert any(stem in str(excinfo.value) for stem in STEMS.values())
    # With a line for each gunzipped file (the hash of its decompressed bytes) they load, and a flipped byte fails.
    lines = [f"{hashlib.sha256((tmp_path / stem).read_bytes()).hexdigest()}  {stem}" for stem in STEMS.values()]
    (tmp_path / "SHA256SUMS").write_text("\n".join(lines) + "\n")
    (_, y_train), _ = load_mnist(tmp_path)
    np.testing.assert_array_equal(y_train[:5], [5, 0, 4, 1, 9])
    labels = tmp_path / STEMS["y_test"]
    data = bytearray(labels.read_bytes())
    data[-1] ^= 1
    labels.write_bytes(bytes(data))
    with pytest.raises(DataIntegrityError, match=f"{STEMS['y_test']} has sha256"):
        load_mnist(tmp_path)


def test_sha256_mismatch_names_file_and_hashes(tmp_path, fake_dir):
    folder = folder_with(tmp_path, fake_dir, {})
    actual = hashlib.sha256((fake_dir / STEMS["y_test"]).read_bytes()).hexdigest()
    wrong = "0" * 64
    lines = [f"{hashlib.sha256((fake_dir / stem).read_bytes()).hexdigest()}  {stem}" for stem in STEMS.values()]
    lines[-1] = f"{wrong}  {STEMS['y_test']}"
    (folder / "SHA256SUMS").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataIntegrityError) as excinfo:
        load_mnist(folder)
    message = str(excinfo.value)
    assert STEMS["y_test"] in message and wrong in message and actual in message


def test_empty_dir_names_expected_files(tmp_path):
    with pytest.raises(DataNotFoundError) as excinfo:
        load_mnist(tmp_path)
    message = str(excinfo.value)
    assert all(stem in message for stem in STEMS.values()) and "mnist.npz" in message
    assert isinstance(excinfo.value, FileNotFoundError)


def test_configured_empty_dir_never_downloads(tmp_path, monkeypatch, keras_mnist):
    monkeypatch.setenv("LADDERAE_DATA", str(tmp_path))
    monkeypatch.setattr(keras_mnist, "load_data", pytest.fail)
    with pytest.raises(DataNotFoundError, match="LADDERAE_DATA"):
        load_mnist()


def test_offline_error_is_actionable(tmp_path, monkeypatch, keras_mnist):
    monkeypatch.delenv("LADDERAE_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    cause = OSError("network is unreachable")

    def offline():
        raise cause

    monkeypatch.setattr(keras_mnist, "load_data", offline)
    with pytest.raises(DataNotFoundError) as excinfo:
        load_mnist()
    message = str(excinfo.value)
    assert all(stem in message for stem in STEMS.values()) and "mnist.npz" in message
    assert "data_dir=" in message and "LADDERAE_DATA=<root>" in message
    assert "<root>/mnist/" in message and str(tmp_path / ".keras") in message
    assert excinfo.value.__cause__ is cause


def test_binarize_is_seeded_bernoulli():
    x = np.full((200, 500), 0.3, np.float32)
    x[0], x[1] = 0.0, 1.0
    b = binarize(x, seed=1)
    assert b.dtype == np.float32 and b.shape == x.shape
    assert set(np.unique(b)) == {0.0, 1.0}
    assert not b[0].any() and b[1].all()
    np.testing.assert_array_equal(b, binarize(x, seed=1))
    assert not np.array_equal(b, binarize(x, seed=2))
    rest = b[2:]
    assert abs(rest.mean() - 0.3) < 5 * np.sqrt(0.3 * 0.7 / rest.size)


def test_binarize_rejects_uint8_images():
    with pytest.raises(ValueError, match=r"`x`.*255"):
        binarize(np.full((2, 3), 255, np.uint8), seed=0)
