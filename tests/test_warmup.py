"""Beta (and pair weights) follow their schedule, step by step, inside a compiled fit.

The user-reported bug: a warm-up callback rebinds a Python variable the
compiled graph never reads again, so beta stays 0. Here beta is computed from
the model's own step counter inside the step; the per-batch `beta` log (the
running epoch mean) must equal the closed form exactly, on TensorFlow with XLA
(`jit_compile=True`) and on JAX (always jitted).
"""

import keras
import numpy as np
import pytest
from conftest import bits, numpy, tiny_model

import ladderae

X = bits((64, 6))
BATCH = 8  # 8 steps per epoch


class BatchLogs(keras.callbacks.Callback):
    def __init__(self, key):
        super().__init__()
        self.key, self.values = key, []

    def on_train_batch_end(self, batch, logs=None):
        self.values.append(float(logs[self.key]))


def running_epoch_means(per_step, steps_per_epoch):
    out = []
    for start in range(0, len(per_step), steps_per_epoch):
        epoch = per_step[start : start + steps_per_epoch]
        out += list(np.cumsum(epoch) / np.arange(1, len(epoch) + 1))
    return np.array(out)


def fit_logging(model, key, epochs=3):
    compile_kwargs = {"jit_compile": True} if keras.backend.backend() == "tensorflow" else {}
    model.compile(optimizer="adam", **compile_kwargs)
    logs = BatchLogs(key)
    model.fit(X, batch_size=BATCH, epochs=epochs, shuffle=False, verbose=0, callbacks=[logs])
    return np.array(logs.values)


@pytest.mark.parametrize(
    "schedule, closed_form",
    [
        (ladderae.LinearWarmup(12), lambda t: np.minimum(t / 12, 1.0)),
        (ladderae.Cyclical(10, ratio=0.5, cycles=2), lambda t: np.where(t >= 20, 1.0, np.minimum((t % 10) / 5, 1.0))),
    ],
)
def test_beta_follows_its_schedule_every_step(schedule, closed_form):
    model = tiny_model(beta=schedule)
    logged = fit_logging(model, "beta")
    expected = running_epoch_means(closed_form(np.arange(24, dtype="float64")), 8)
    np.testing.assert_allclose(logged, expected, rtol=1e-6, atol=1e-7)
    assert int(numpy(model.step_counter)) == 24
    # Evaluation uses the weight at the current step and does not advance it.
    assert model.evaluate(X, verbose=0, return_dict=True)["beta"] == pytest.approx(float(closed_form(24)))
    assert int(numpy(model.step_counter)) == 24


def test_pair_weights_follow_their_schedule():
    """A pair weight warm-up: consistency = w(t) * pair loss, so with w = 0 for 8 steps it is exactly 0."""
    model = tiny_model(consistency_weight=ladderae.LinearWarmup(8, delay=8))
    logged = fit_logging(model, "consistency", epochs=2)
    assert np.all(logged[:8] == 0.0) and np.all(logged[9:] > 0.0)


def test_the_step_counter_is_saved_so_a_warmup_resumes(tmp_path):
    model = tiny_model(beta=ladderae.LinearWarmup(100))
    fit_logging(model, "beta", epochs=1)
    model.save(tmp_path / "m.keras")
    restored = keras.saving.load_model(tmp_path / "m.keras")
    assert int(numpy(restored.step_counter)) == 8
    assert restored.beta == ladderae.LinearWarmup(100)
