"""Train and score a LadderAE on binarised MNIST the way the literature does.

Training digits are binarised afresh every epoch (dynamic binarisation); the
test digits once, with a fixed seed. Numbers are in nats per example.
"""

import math
import time

import keras

from ladderae import datasets, pipeline
from ladderae.model import LadderAE

__all__ = ["TEST_BINARIZATION_SEED", "mnist_splits", "train_on_mnist", "trainable_parameters"]

TEST_BINARIZATION_SEED = 0


def mnist_splits(data_dir=None, train_size=None, test_size=None):
    """Grey-level training digits (binarised later, per epoch) and the fixed binarised test set, with labels."""
    (x_train, y_train), (x_test, y_test) = datasets.load_mnist(data_dir)
    for name, size, limit in (("train_size", train_size, len(x_train)), ("test_size", test_size, len(x_test))):
        if size is not None and not 0 < size <= limit:
            raise ValueError(f"`{name}` must be between 1 and {limit}. Received: {name}={size!r}")
    x_train, y_train = x_train[:train_size], y_train[:train_size]
    x_test, y_test = x_test[:test_size], y_test[:test_size]
    return (x_train, y_train), (datasets.binarize(x_test, TEST_BINARIZATION_SEED), y_test)


def trainable_parameters(model):
    """Number of trainable weights (Keras' count_params also counts the step counter)."""
    return int(sum(math.prod(v.shape) for v in model.trainable_variables))


class EpochTimer(keras.callbacks.Callback):
    """Wall time of every epoch, in seconds (History has none)."""

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def train_on_mnist(
    model_kwargs,
    splits,
    *,
    epochs=10,
    batch_size=128,
    learning_rate=1e-3,
    seed=0,
    verbose=1,
    callbacks=(),
):
    """Build a LadderAE from `model_kwargs`, fit it on ``splits[0]`` and evaluate it on ``splits[1]``.

    `splits` is what `mnist_splits` returns (grey-level training digits, binarised
    test digits, with labels). Returns ``(model, result)`` where `result` holds
    the history, epoch times, test metrics (nats per example) and the sizes used.
    """
    (x_train, _), (x_test, _) = splits
    model = LadderAE(784, **{"seed": seed, **model_kwargs})
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    timer = EpochTimer()
    train = pipeline.DynamicBinarization(x_train, batch_size, seed=seed)
    history = model.fit(train, epochs=epochs, verbose=verbose, callbacks=[timer, *callbacks])
    test = model.evaluate(x_test, batch_size=1000, verbose=0, return_dict=True)
    result = {
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        "epoch_seconds": timer.seconds,
        "examples_per_second": [len(x_train) / s for s in timer.seconds],
        "test": {k: float(v) for k, v in test.items()},
        "train_size": len(x_train),
        "test_size": len(x_test),
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "backend": keras.backend.backend(),
        "parameters": trainable_parameters(model),
    }
    return model, result
