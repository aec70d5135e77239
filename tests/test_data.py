"""ladderae.data: every source into checked, split arrays with their kind; bad data refused by argument."""

import gzip

import numpy as np
import pandas as pd
import pytest
from test_datasets import idx_bytes

from ladderae import data
from ladderae.cli import training
from ladderae.data.reading import DataError


@pytest.fixture
def grey_images():
    return np.random.default_rng(0).integers(0, 256, (200, 5, 7)).astype(np.uint8)


def test_mnist_is_images_with_a_channel_axis_and_its_own_test_set(data_root):
    d = data.load("mnist", data_dir=data_root, train_size=1000, test_size=300, validation_split=0.2)
    assert d.name == "mnist" and d.kind == "images" and d.example_shape == (28, 28, 1)
    assert (len(d.x_train), len(d.x_validation), len(d.x_test)) == (800, 200, 300)
    assert d.x_train.dtype == np.float32 and d.value_range == (0.0, 1.0) and d.in_unit_interval
    assert d.y_test[:5].tolist() == [7, 2, 1, 0, 4]  # MNIST's own test set, in its order


def test_uint8_images_are_scaled_and_rows_split_reproducibly(tmp_path, grey_images):
    np.save(tmp_path / "x.npy", grey_images)
    a, b = data.load(tmp_path / "x.npy", seed=3), data.load(tmp_path / "x.npy", seed=3)
    assert a.kind == "images" and a.example_shape == (5, 7, 1)
    assert (len(a.x_train), len(a.x_validation), len(a.x_test)) == (162, 18, 20)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    every_row = np.concatenate([a.x_train, a.x_validation, a.x_test])[..., 0]
    np.testing.assert_allclose(np.sort(every_row.reshape(200, -1), axis=0),
                               np.sort(grey_images.reshape(200, -1) / 255.0, axis=0), rtol=1e-6)
    assert not np.array_equal(a.x_test, data.load(tmp_path / "x.npy", seed=4).x_test)


def test_npz_keys_labels_and_test_part(tmp_path):
    rng = np.random.default_rng(0)
    x, y, x_test = rng.normal(size=(50, 3)), np.arange(50) % 2, rng.normal(size=(7, 3))
    np.savez(tmp_path / "a.npz", x_train=x, y_train=y, x_test=x_test, y_test=np.zeros(7))
    d = data.load(tmp_path / "a.npz", validation_split=0)
    assert d.kind == "vectors" and len(d.x_train) == 50 and len(d.x_test) == 7
    np.testing.assert_allclose(d.x_test, x_test.astype(np.float32))
    rows = [np.flatnonzero((x.astype(np.float32) == row).all(axis=1))[0] for row in d.x_train]
    assert sorted(rows) == list(range(50)) and d.y_train.tolist() == y[rows].tolist()  # labels follow their rows
    assert not d.in_unit_interval


def test_an_idx_folder_of_other_counts_and_sizes(tmp_path, grey_images):
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(grey_images)))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.arange(200) % 4))
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(grey_images[:30]))
    d = data.load(tmp_path)
    assert d.kind == "images" and d.example_shape == (5, 7, 1) and len(d.x_test) == 30 and d.y_test is None
    assert set(d.y_train.tolist()) == {0, 1, 2, 3}


def test_a_csv_table_fits_its_schema_on_the_training_rows(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"n": rng.normal(size=100), "c": rng.choice(list("ab"), 100)})
    frame.to_csv(tmp_path / "t.csv", index=False)
    d = data.load(tmp_path / "t.csv", validation_split=0.2)
    assert d.kind == "table" and d.example_shape == (d.schema.width,)
    assert [len(d.frames[k]) for k in ("train", "validation", "test")] == [72, 18, 10]
    numeric = d.schema.columns[0]
    assert numeric.name == "n"
    np.testing.assert_allclose(d.x_train[:, 0].mean(), 0, atol=1e-5)  # standardised with the training rows' mean


def test_likelihood_for_follows_the_values(tmp_path, grey_images):
    np.save(tmp_path / "x.npy", grey_images)
    np.save(tmp_path / "v.npy", np.random.default_rng(0).normal(size=(100, 4)))
    images, vectors = data.load(tmp_path / "x.npy"), data.load(tmp_path / "v.npy")
    assert training.likelihood_for(images) == "bernoulli" and training.likelihood_for(vectors) == "gaussian_unit"
    assert training.likelihood_for(vectors, "gaussian") == "gaussian"
    with pytest.raises(DataError, match="bernoulli models values in") as info:
        training.likelihood_for(vectors, "bernoulli")
    assert info.value.argument == "likelihood"


@pytest.mark.parametrize(
    "arrays, kwargs, argument, problem",
    [
        ({"x": np.zeros((0, 3))}, {}, "source", "at least one row"),
        ({"x": np.zeros(5)}, {}, "source", r"shape \(5,\)"),
        ({"x": np.zeros((4, 2, 2, 2, 2))}, {}, "source", "channels"),
        ({"x": np.array([[1.0, np.inf]] * 20)}, {}, "source", "infinite values in 20 row"),
        ({"x": np.zeros((20, 3)), "y": np.zeros(19)}, {}, "source", "labels of shape"),
        ({"x": np.zeros((20, 3)), "x_test": np.zeros((5, 4))}, {}, "source", r"shape \(4,\)"),
        ({"a": np.zeros((20, 3)), "b": np.zeros(3)}, {}, "source", r"\['a', 'b'\]"),
        ({"x": np.zeros((20, 3))}, {"train_size": 19}, "train_size", "between 1 and 18"),
        ({"x": np.zeros((20, 3))}, {"test_split": 0.01}, "test_split", "no test rows"),
        ({"x": np.zeros((20, 3))}, {"validation_split": 1.5}, "validation_split", r"\[0, 1\)"),
    ],
    ids=["no-rows", "flat", "five-dims", "infinite", "labels", "test-shape", "no-x", "train-size", "test-split",
         "validation-split"],
)
def test_bad_data_is_refused_naming_the_argument(tmp_path, arrays, kwargs, argument, problem):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=problem) as info:
        data.load(tmp_path / "bad.npz", **kwargs)
    assert info.value.argument == argument and str(info.value).startswith(f"`{argument}`")


@pytest.mark.parametrize(
    "write, problem",
    [
        (lambda p: p.with_suffix(".npy").write_bytes(b"not numpy"), "not a readable .npy"),
        (lambda p: p.with_suffix(".txt").write_text("1,2"), r"not a \.csv, \.npy, \.npz file.*file_reader"),
        (lambda p: None, "neither a file nor a folder"),
    ],
    ids=["damaged-npy", "other-suffix", "missing"],
)
def test_unreadable_sources_are_refused(tmp_path, write, problem):
    target = tmp_path / "data"
    write(target)
    source = next(tmp_path.iterdir(), target)
    with pytest.raises(DataError, match=problem):
        data.load(source)


def test_a_test_table_without_a_training_column_names_the_test_argument(tmp_path):
    frame = pd.DataFrame({"n": np.arange(30.0), "c": list("ab") * 15})
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.drop(columns="c").to_csv(tmp_path / "test.csv", index=False)
    with pytest.raises(DataError, match="'c'") as info:
        data.load(tmp_path / "t.csv", test=tmp_path / "test.csv")
    assert info.value.argument == "test"


def test_a_registered_data_set_and_file_reader_load_by_name(tmp_path):
    rng = np.random.default_rng(0)

    @data.data_source("test_blobs")
    def blobs(data_dir):
        return {"x": rng.normal(size=(50, 3)).astype("float32"), "y": rng.integers(0, 2, 50)}

    @data.file_reader(".txt")
    def read_txt(path, argument):
        return {"kind": "arrays", "x": np.loadtxt(path, ndmin=2), "y": None}

    try:
        d = data.load("test_blobs", validation_split=0.2, test_split=0.2)
        assert (d.kind, d.example_shape, len(d.x_train), len(d.x_validation), len(d.x_test)) == (
            "vectors", (3,), 32, 8, 10)
        assert d.y_train is not None
        np.savetxt(tmp_path / "points.txt", rng.normal(size=(20, 4)))
        assert data.load(tmp_path / "points.txt", validation_split=0.0).x_train.shape == (18, 4)
        with pytest.raises(ValueError, match="'test_blobs' is already registered"):
            data.data_source("test_blobs")(blobs)
    finally:
        data.sources._entries.pop("test_blobs", None)
        data.readers._entries.pop(".txt", None)


def test_a_data_set_names_its_kind_among_the_kinds_the_commands_know():
    x = np.zeros((4, 3), "float32")
    assert data.Data("d", "vectors", x, x, x).kind in data.KINDS
    with pytest.raises(ValueError, match=r"`kind` must be one of images, vectors, table. Received: kind='image'"):
        data.Data("d", "image", x, x, x)  # a typo would otherwise pass as vectors
