"""One tiny training run for tests/test_resume.py, optionally killed with SIGKILL mid-epoch.

    python tests/_resume_worker.py OUT BACKUP [--kill-after-steps N] [--no-sync]

Trains a small LadderAE on a `DynamicBinarization` for EPOCHS epochs under
`BackupAndRestore(BACKUP)` (and `EpochSync` unless --no-sync), then writes its
final weights to OUT/weights.npz. With --kill-after-steps the process sends
itself SIGKILL after that many training steps: no cleanup, no flush, as a
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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out", type=pathlib.Path)
    p.add_argument("backup", type=pathlib.Path)
    p.add_argument("--kill-after-steps", type=int)
    p.add_argument("--no-sync", action="store_true")
    args = p.parse_args()
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).random((ROWS, WIDTH)).astype("float32")
    data = pipeline.DynamicBinarization(x, BATCH, seed=0)
    model = ladderae.LadderAE(WIDTH, encoder=[8], latent_dim=2, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    callbacks = [] if args.no_sync else [pipeline.EpochSync(data)]
    callbacks.append(keras.callbacks.BackupAndRestore(str(args.backup)))
    if args.kill_after_steps:
        callbacks.append(StopAfter(args.kill_after_steps))
    model.fit(data, epochs=EPOCHS, shuffle=False, verbose=0, callbacks=callbacks)
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez(args.out / "weights.npz", *model.get_weights())


if __name__ == "__main__":
    main()
