"""Shared fixtures: a backend-agnostic gradient helper and the MNIST location."""

import os
import pathlib

import keras
import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]


def gradients(model, loss_fn):
    """Gradient of the scalar `loss_fn()` with respect to each trainable variable, keyed "layer/variable".

    Uses a GradientTape on TensorFlow and `jax.grad` over a StatelessScope on
    JAX, so gradient claims are checked on the backend the suite runs on.
    A variable the loss does not reach gets an all-zero array.
    """
    variables = model.trainable_variables
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_fn()
        grads = tape.gradient(loss, [v.value for v in variables])
    elif backend == "jax":
        import jax

        def f(values):
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return loss_fn()

        grads = jax.grad(f)([v.value for v in variables])
    else:
        raise NotImplementedError(f"gradients() supports tensorflow and jax, not {backend}")
    return {v.path.split("/", 1)[1]: np.zeros(v.shape) if g is None else np.asarray(g) for v, g in zip(variables, grads)}


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same initial weights: failures reproduce."""
    keras.utils.set_random_seed(0)


@pytest.fixture(scope="session")
def data_root():
    """The data root holding mnist/: $LADDERAE_DATA (relative to the repo), else <repo>/../shared/data."""
    root = pathlib.Path(os.environ.get("LADDERAE_DATA") or REPO.parent / "shared" / "data")
    return root if root.is_absolute() else REPO / root


@pytest.fixture(scope="session")
def mnist(data_root):
    """The full MNIST set, loaded once per session."""
    from ladderae.datasets import load_mnist

    return load_mnist(data_root)


@pytest.fixture(scope="session")
def mnist_slice(mnist):
    """2,000 training and 500 test digits (float32 in [0, 1], flattened) with labels."""
    (x_train, y_train), (x_test, y_test) = mnist
    return (x_train[:2000], y_train[:2000]), (x_test[:500], y_test[:500])
