"""One tiny training run for tests/test_resume.py, in process (`train`) or killed with SIGKILL mid-epoch.

    python tests/_resume_worker.py BACKUP --kill-after-steps N

Trains a small LadderAE on a `DynamicBinarization` for EPOCHS epochs under
`EpochSync` and `BackupAndRestore(BACKUP)`. With --kill-after-steps the process
sends itself SIGKILL after that many training steps: no cleanup, no flush, as a
preempted machine would stop.
"""

import argparse
import os
import pathlib
import signal

import keras
import numpy as np

import ladderae
from ladderae import pipeline

EPOCHS, BATCH, ROWS, WIDTH = 3, 16, 64, 12  # 4 steps per epoch


class StopAfter(keras.callbacks.Callback):
    """Call `stop` after `steps` training steps of this run: a SIGKILL of this process by default."""

    def __init__(self, steps, stop=lambda: os.kill(os.getpid(), signal.SIGKILL)):
        super().__init__()
        self.steps, self.stop, self.seen = steps, stop, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.steps:
            self.stop()


def train(backup, *callbacks):
    """A seeded run from the same global state as a new process's, under BackupAndRestore(`backup`): its weights."""
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).random((ROWS, WIDTH)).astype("float32")
    data = pipeline.DynamicBinarization(x, BATCH, seed=0)
    model = ladderae.LadderAE(WIDTH, encoder=[8], latent_dim=2, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    callbacks = [pipeline.EpochSync(data), keras.callbacks.BackupAndRestore(str(backup)), *callbacks]
    model.fit(data, epochs=EPOCHS, shuffle=False, verbose=0, callbacks=callbacks)
    return model.get_weights()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("backup", type=pathlib.Path)
    p.add_argument("--kill-after-steps", type=int, required=True)
    args = p.parse_args()
    train(args.backup, StopAfter(args.kill_after_steps))


if __name__ == "__main__":
    main()
