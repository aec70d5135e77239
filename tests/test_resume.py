"""Exact resume: a training process killed (SIGKILL) mid-epoch and rerun under BackupAndRestore ends at the weights
of an uninterrupted run, with the README's `DynamicBinarization` input, on the backend the suite runs on (CI runs
the suite on both)."""

import os
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest
from _resume_worker import StopAfter, train
from conftest import REPO

import ladderae

WORKER = REPO / "tests" / "_resume_worker.py"


def test_a_run_killed_mid_epoch_resumes_to_the_weights_of_an_uninterrupted_run(tmp_path):
    """The killed run is a process of its own, so that nothing of it survives the kill but its backup; the
    uninterrupted and the resumed runs train in this one, each from the global state a new process starts with."""
    backup = tmp_path / "backup"
    # Killed in the middle of the second epoch (steps 4-7): the backup holds the end of the first.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, str(WORKER), str(backup), "--kill-after-steps", "6"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]
    assert (backup / "training_metadata.json").read_text().startswith('{"epoch": 1')
    resumed = train(backup)
    assert not backup.exists()  # BackupAndRestore deletes it once training completes
    for resumed_weights, uninterrupted in zip(resumed, train(tmp_path / "backup_uninterrupted")):
        np.testing.assert_array_equal(resumed_weights, uninterrupted)


def interrupt():
    """What a kill mid-epoch leaves, in process: the fit stops, the backup holds the last finished epoch."""
    raise KeyboardInterrupt


def fit_arrays(backup, *callbacks):
    """A seeded model fit on arrays with Keras' default shuffle=True under BackupAndRestore; its final weights."""
    keras.utils.set_random_seed(0)  # every sitting starts from the same global state, as a new process does
    x = (np.random.default_rng(1).random((64, 12)) < 0.5).astype("float32")
    model = ladderae.LadderAE(12, encoder=[8], latent_dim=2, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(x, batch_size=16, epochs=3, verbose=0,
              callbacks=[keras.callbacks.BackupAndRestore(str(backup)), *callbacks])
    return model.get_weights()


def test_a_seeded_model_fit_on_arrays_with_keras_shuffle_resumes_exactly(tmp_path):
    """Arrays with fit's default shuffle=True: the model batches them in an order keyed to the step count
    (`pipeline.ShuffledArrays` under `EpochSync`), so a run stopped mid-epoch resumes to the uninterrupted weights
    (Keras' own shuffle would draw the resumed epoch's order from a global state no backup holds)."""
    uninterrupted = fit_arrays(tmp_path / "uninterrupted")
    with pytest.raises(KeyboardInterrupt):
        fit_arrays(tmp_path / "backup", StopAfter(6, interrupt))  # in the second epoch (steps 4-7)
    for resumed, expected in zip(fit_arrays(tmp_path / "backup"), uninterrupted):
        np.testing.assert_array_equal(resumed, expected)
