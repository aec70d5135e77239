"""Train and score a LadderAE on a `ladderae.data.Data` set, or on binarised MNIST the way the literature does.

`build_model` reads the input shape from the data (a table gets a
`TabularLadderAE` over its schema); `likelihood_for` picks an observation model
that fits the data's values; `fit_and_score` fits with Adam, stops on a
non-finite loss and scores the test set. With binarisation, training examples
are binarised afresh every epoch (dynamic binarisation), validation and test
examples once, with fixed seeds. Numbers are in nats per example.
"""

import math
import time

import keras
import numpy as np

from ladderae.data import mnist as datasets
from ladderae.data import pipeline
from ladderae.data.reading import DataError
from ladderae.models.autoencoder import LadderAE

__all__ = [
    "TEST_BINARIZATION_SEED",
    "VALIDATION_BINARIZATION_SEED",
    "EpochTimer",
    "build_model",
    "fit_and_score",
    "likelihood_for",
    "mnist_splits",
    "evaluation_inputs",
    "train",
    "train_on_mnist",
    "trainable_parameters",
]

TEST_BINARIZATION_SEED = 0
VALIDATION_BINARIZATION_SEED = 1


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


def likelihood_for(data, likelihood="auto", binarize=False):
    """The likelihood name to train `data` with (None for a table), or a `DataError` that says what to change.

    ``"auto"`` is ``bernoulli`` for values in [0, 1] and ``gaussian_unit``
    otherwise. ``bernoulli`` and `binarize` need values in [0, 1]; ``gaussian``
    (a learned scale per dimension) refuses dimensions that are constant in the
    training data, where the scale would shrink without bound. A table's columns
    choose their own likelihoods, so it takes ``"auto"`` only. Other registered
    likelihoods are passed through unchecked.
    """
    if data.kind == "table":
        if likelihood != "auto" or binarize:
            raise DataError("likelihood", "a table's columns choose their own likelihoods (Gaussian for numbers, "
                            "categorical, Bernoulli for binary columns): leave it 'auto' and do not binarise.")
        return None
    low, high = data.value_range
    unit = data.in_unit_interval
    if binarize and not unit:
        raise DataError("binarize", f"draws each value as a probability, so it needs data in [0, 1]; these range "
                        f"over [{low:g}, {high:g}]. Scale them to [0, 1] or train without binarising.")
    if likelihood == "auto":
        return "bernoulli" if unit else "gaussian_unit"
    if likelihood == "bernoulli" and not unit:
        raise DataError("likelihood", f"bernoulli models values in [0, 1], but these range over [{low:g}, {high:g}]. "
                        "Scale them to [0, 1] (uint8 images are scaled for you), or use gaussian_unit.")
    if likelihood == "gaussian":
        constant = int(np.sum(np.ptp(data.x_train.reshape(len(data.x_train), -1), axis=0) == 0))
        if constant:
            raise DataError("likelihood", f"gaussian learns a scale per dimension, and {constant} dimension(s) are "
                            "constant in the training data (image borders?): there its likelihood grows without "
                            "bound. Use gaussian_unit, or drop the constant dimensions.")
    return likelihood


def build_model(data, model_kwargs, seed=0):
    """A LadderAE for `data`: its input shape from the data's examples, a TabularLadderAE over a table's schema."""
    if data.kind == "table":
        from ladderae.models.tabular import TabularLadderAE

        kwargs = {k: v for k, v in model_kwargs.items() if k != "likelihood"}
        return TabularLadderAE(data.schema, **{"seed": seed, **kwargs})
    return LadderAE(input_shape=data.example_shape, **{"seed": seed, **model_kwargs})


def fit_and_score(model, train_input, x_test, *, n_train, x_validation=None, batch_size=128, epochs=10,
                  learning_rate=1e-3, verbose=1, callbacks=()):
    """Compile `model` with Adam, fit it on `train_input`, evaluate it on `x_test`; returns the result dict.

    `train_input` is an array (batched here, reshuffled every epoch) or a
    `keras.utils.PyDataset`. Training stops at the first non-finite loss
    (``result["diverged"]`` says so). The result holds the history, epoch
    times, test metrics (nats per example) and the sizes used.
    """
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    timer = EpochTimer()
    has_validation = x_validation is not None and len(x_validation) > 0
    history = model.fit(
        train_input,
        batch_size=None if isinstance(train_input, keras.utils.PyDataset) else batch_size,
        epochs=epochs,
        verbose=verbose,
        validation_data=(x_validation,) if has_validation else None,
        callbacks=[timer, keras.callbacks.TerminateOnNaN(), *callbacks],
    )
    losses = history.history.get("loss", [])
    diverged = not losses or not all(math.isfinite(v) for v in losses)
    test = {} if diverged else model.evaluate(x_test, batch_size=1000, verbose=0, return_dict=True)
    return {
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        "epoch_seconds": timer.seconds,
        "examples_per_second": [n_train / s for s in timer.seconds],
        "test": {k: float(v) for k, v in test.items()},
        "diverged": diverged,
        "train_size": n_train,
        "validation_size": len(x_validation) if has_validation else 0,
        "test_size": len(x_test),
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "backend": keras.backend.backend(),
        "parameters": trainable_parameters(model),
    }


def evaluation_inputs(data, binarize):
    """The test examples a model is scored on: binarised once with `TEST_BINARIZATION_SEED`, or as given."""
    return datasets.binarize(data.x_test, TEST_BINARIZATION_SEED) if binarize else data.x_test


def train(data, model_kwargs, *, binarize=False, epochs=10, batch_size=128, learning_rate=1e-3, seed=0, verbose=1,
          callbacks=()):
    """Build a model for `data` (see `build_model`), fit it and score its test set: ``(model, result)``.

    With `binarize`, training examples are binarised afresh every epoch and the
    validation and test examples once (fixed seeds), as the binarised-MNIST
    literature does; ``result["evaluated_on"]`` records which.
    """
    model = build_model(data, model_kwargs, seed)
    x_validation, x_test = data.x_validation, evaluation_inputs(data, binarize)
    if binarize:
        train_input = pipeline.DynamicBinarization(data.x_train, batch_size, seed=seed)
        if len(x_validation):
            x_validation = datasets.binarize(x_validation, VALIDATION_BINARIZATION_SEED)
    else:
        train_input = data.x_train
    result = fit_and_score(model, train_input, x_test, n_train=len(data.x_train), x_validation=x_validation,
                           batch_size=batch_size, epochs=epochs, learning_rate=learning_rate, verbose=verbose,
                           callbacks=callbacks)
    result["evaluated_on"] = "binarised" if binarize else "as given"
    return model, result


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
    model = LadderAE(input_shape=x_train.shape[1:], **{"seed": seed, **model_kwargs})
    train_input = pipeline.DynamicBinarization(x_train, batch_size, seed=seed)
    result = fit_and_score(model, train_input, x_test, n_train=len(x_train), batch_size=batch_size, epochs=epochs,
                           learning_rate=learning_rate, verbose=verbose, callbacks=callbacks)
    return model, result
