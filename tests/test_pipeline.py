"""Tests for ladderae.pipeline: dynamic binarisation and plain batching."""

import warnings

import keras
import numpy as np
import pytest

from ladderae.data.pipeline import DynamicBinarization, batched, dynamic_binarization


def epoch(ds):
    """One pass over ``ds`` as a list of numpy batches."""
    return [batch.numpy() for batch in ds]


def test_batch_shapes_dtype_and_binary_values():
    x = np.random.default_rng(0).random((10, 6)).astype(np.float32)
    batches = epoch(dynamic_binarization(x, 4))
    assert [b.shape for b in batches] == [(4, 6), (4, 6), (2, 6)]
    assert all(b.dtype == np.float32 for b in batches)
    assert set(np.unique(np.concatenate(batches))) == {0.0, 1.0}
    dropped = epoch(dynamic_binarization(x, 4, drop_remainder=True))
    assert [b.shape for b in dropped] == [(4, 6), (4, 6)]


def test_each_epoch_draws_a_fresh_binarisation():
    ds = dynamic_binarization(np.full((64, 16), 0.5, np.float32), 64, shuffle=False)
    assert not np.array_equal(epoch(ds)[0], epoch(ds)[0])


def test_same_seed_same_epoch_sequence():
    x = np.full((20, 8), 0.5, np.float32)
    first, second = (dynamic_binarization(x, 8, seed=3) for _ in range(2))
    for _ in range(3):
        np.testing.assert_array_equal(np.concatenate(epoch(first)),
                                      np.concatenate(epoch(second)))
    other = dynamic_binarization(x, 8, seed=4)
    assert not np.array_equal(np.concatenate(epoch(other)),
                              np.concatenate(epoch(dynamic_binarization(x, 8, seed=3))))


def test_shuffle_reorders_every_epoch():
    # Rows are the distinct 0/1 binary codes of 0..15, which binarisation keeps.
    codes = (np.arange(16)[:, None] >> np.arange(4) & 1).astype(np.float32)
    ids = lambda ds: np.concatenate(epoch(ds)) @ (2 ** np.arange(4))  # noqa: E731
    shuffled = dynamic_binarization(codes, 5, seed=0)
    first, second = ids(shuffled), ids(shuffled)
    assert sorted(first) == sorted(second) == list(range(16))
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(ids(dynamic_binarization(codes, 5, shuffle=False)),
                                  np.arange(16))


def test_pixel_means_over_epochs_approach_x():
    x = np.tile(np.array([0.2, 0.8], np.float32), (8, 2))
    ds = dynamic_binarization(x, 8, shuffle=False)
    epochs = 200
    mean = np.mean([epoch(ds)[0] for _ in range(epochs)], axis=0)
    std = np.sqrt(x * (1 - x) / epochs)
    assert np.all(np.abs(mean - x) < 4 * std)


@pytest.mark.parametrize(
    "x, observed",
    [(np.full((4, 3), 255, np.uint8), "255"), (np.full((4, 3), 1.5), "1.5")],
    ids=["uint8", "above-one"],
)
def test_rejects_x_outside_unit_interval(x, observed):
    with pytest.raises(ValueError, match=rf"`x`.*{observed}.*/ 255"):
        dynamic_binarization(x)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True])
def test_rejects_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        dynamic_binarization(np.zeros((4, 3), np.float32), batch_size)


def test_batched_keeps_values_and_order_unless_shuffled():
    x = np.linspace(0, 3, 14, dtype=np.float32).reshape(7, 2)
    batches = epoch(batched(x, 3))
    assert [b.shape for b in batches] == [(3, 2), (3, 2), (1, 2)]
    np.testing.assert_array_equal(np.concatenate(batches), x)
    ds = batched(x, 3, shuffle=True, seed=1)
    first, second = np.concatenate(epoch(ds)), np.concatenate(epoch(ds))
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(np.sort(first, axis=0), x)


def pydataset_epoch(ds):
    batches = [ds[i] for i in range(len(ds))]
    ds.on_epoch_end()
    return batches


def test_pydataset_binarization_is_fresh_each_epoch_reproducible_and_complete():
    x = np.tile(np.array([[0.2, 0.8, 0.5]], np.float32), (10, 1)) * np.linspace(0.2, 1, 10, dtype=np.float32)[:, None]
    ds, twin = DynamicBinarization(x, 4, seed=3), DynamicBinarization(x, 4, seed=3)
    first, second = pydataset_epoch(ds), pydataset_epoch(ds)
    assert [b.shape for b in first] == [(4, 3), (4, 3), (2, 3)]
    assert set(np.unique(np.concatenate(first))) <= {0.0, 1.0}
    assert not all(np.array_equal(a, b) for a, b in zip(first, second))
    for a, b in zip(first + second, pydataset_epoch(twin) + pydataset_epoch(twin)):
        np.testing.assert_array_equal(a, b)
    # Every example once per epoch, in a new order: the batch order follows ds.order.
    assert sorted(ds.order) == list(range(10))


def test_pydataset_pixel_means_follow_x():
    x = np.array([[0.2, 0.8], [0.5, 0.05]], np.float32)
    ds = DynamicBinarization(x, 2, seed=0, shuffle=False)
    draws = np.array([pydataset_epoch(ds)[0] for _ in range(400)])
    assert np.all(np.abs(draws.mean(axis=0) - x) < 4 * np.sqrt(x * (1 - x) / 400))


def test_fit_advances_the_pydataset_epoch():
    import ladderae

    ds = DynamicBinarization(np.full((16, 6), 0.5, np.float32), 8, seed=0)
    model = ladderae.LadderAE(6, encoder=[4], latent_dim=2)
    model.compile(optimizer="adam")
    model.fit(ds, epochs=3, verbose=0)
    # At least one advance per epoch (Keras also advances once when it resets the iterator).
    assert ds.epoch >= 3


@pytest.mark.parametrize("make", [dynamic_binarization, DynamicBinarization], ids=["tf.data", "PyDataset"])
def test_both_binarizers_reject_bad_input(make):
    with pytest.raises(ValueError, match=r"`x`.*/ 255"):
        make(np.full((4, 3), 255, np.uint8))
    with pytest.raises(ValueError, match="batch_size"):
        make(np.zeros((4, 3), np.float32), 0)


def test_import_ladderae_on_jax_does_not_load_tensorflow():
    """tf.data is imported only when a tf.data pipeline is built: on JAX, `import ladderae` leaves TensorFlow out."""
    import os
    import subprocess
    import sys

    pytest.importorskip("jax")
    code = "import sys, ladderae; print(sorted(m for m in sys.modules if m.split('.')[0] == 'tensorflow'))"
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_set_epoch_draws_depend_only_on_seed_and_epoch():
    x = np.random.default_rng(0).random((10, 4)).astype(np.float32)
    travelled = DynamicBinarization(x, 4, seed=2)
    for _ in range(3):
        pydataset_epoch(travelled)
    fresh = DynamicBinarization(x, 4, seed=2)
    travelled.set_epoch(7)
    fresh.set_epoch(7)
    np.testing.assert_array_equal(travelled.order, fresh.order)
    for i in range(len(fresh)):
        np.testing.assert_array_equal(travelled[i], fresh[i])
    fresh.set_epoch(8)
    assert not np.array_equal(np.concatenate(pydataset_epoch(fresh)), np.concatenate(pydataset_epoch(travelled)))


class _Keys(keras.callbacks.Callback):
    """Records the dataset's draw key when each epoch's first batch is trained on."""

    def __init__(self, ds):
        super().__init__()
        self.ds, self.keys = ds, []

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            self.keys.append(self.ds.epoch)


def test_epoch_sync_keys_each_epoch_to_the_optimizer_step_across_fit_calls():
    import ladderae
    from ladderae.data.pipeline import EpochSync

    ds = DynamicBinarization(np.full((16, 6), 0.5, np.float32), 8, seed=0)  # 2 steps per epoch
    model = ladderae.LadderAE(6, encoder=[4], latent_dim=2)
    model.compile(optimizer="adam")
    keys = _Keys(ds)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*reordering")  # in order: no warning about Keras' shuffle
        model.fit(ds, epochs=2, shuffle=False, verbose=0, callbacks=[EpochSync(ds), keys])
        model.fit(ds, epochs=1, shuffle=False, verbose=0, callbacks=[EpochSync(ds), keys])
    assert keys.keys == [0, 2, 4]  # a second fit call draws afresh, not epoch 0's binarisation again


def test_epoch_sync_warns_when_keras_reorders_the_batches():
    import ladderae
    from ladderae.data.pipeline import EpochSync

    ds = DynamicBinarization(np.full((64, 6), 0.5, np.float32), 4, seed=0)  # 16 batches: reordered for sure
    model = ladderae.LadderAE(6, encoder=[4], latent_dim=2)
    model.compile(optimizer="adam")
    with pytest.warns(UserWarning, match="shuffle=False"):
        model.fit(ds, epochs=1, verbose=0, shuffle=True, callbacks=[EpochSync(ds)])


def test_fit_keys_a_binarised_input_to_the_step_count_by_default():
    import warnings

    import ladderae

    ds = DynamicBinarization(np.full((64, 6), 0.5, np.float32), 4, seed=0)
    model = ladderae.LadderAE(6, encoder=[4], latent_dim=2)
    model.compile(optimizer="adam")
    keyed = []
    record = keras.callbacks.LambdaCallback(on_train_batch_begin=lambda b, logs: b == 0 and keyed.append(ds.epoch))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(ds, epochs=2, verbose=0, callbacks=[record])  # EpochSync added, Keras' shuffle off
    assert not [w for w in caught if "shuffle" in str(w.message)]
    assert keyed == [0, 16]  # each epoch drawn from the step count at its start, as a resumed run draws it


@pytest.mark.parametrize(
    "kwargs, match",
    [({"seed": -1}, "`seed` must be a non-negative integer"), ({"seed": 1.5}, "`seed`"),
     ({"shuffle": "no"}, "`shuffle` must be True or False"), ({"shuffle": 1}, "`shuffle`")],
)
def test_pydataset_refuses_bad_seed_and_shuffle_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DynamicBinarization(np.zeros((4, 3), np.float32), 2, **kwargs)


@pytest.mark.parametrize("arguments", [(), (np.zeros((4, 3)),), ("data",)], ids=["nothing", "array", "string"])
def test_epoch_sync_refuses_what_has_no_set_epoch(arguments):
    from ladderae.data.pipeline import EpochSync

    with pytest.raises(ValueError, match="set_epoch"):
        EpochSync(*arguments)
