"""Shared test helpers: tiny models and data, fixed weights, a backend-agnostic gradient, PNG checks, MNIST."""

import os
import pathlib

# The tests compile hundreds of tiny XLA programs that then run for milliseconds: compile them without LLVM's costly
# optimisations (a third off the JAX suite's time). Set before Keras starts a backend; a user's own XLA_FLAGS win.
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true")

import keras  # noqa: E402
import matplotlib.image
import numpy as np
import pytest
from keras import ops
from matplotlib.figure import Figure

import ladderae
from ladderae import graph

REPO = pathlib.Path(__file__).resolve().parents[1]

# tests/_*.py are helpers the tests import or run themselves (workers, a CLI plugin that registers names, the
# gradient table): --doctest-modules must not import them at collection, where a plugin's registrations would leak
# into every test.
collect_ignore_glob = ["_*.py"]


# A script of the public API (an example, a README block, a CLI run whose subject is the CLI's own reading, writing
# and messages, a fresh process loading a file) runs on TensorFlow only: what it calls is tested on both backends unit
# by unit (gradients, save and load, identical predictions), and JAX would compile each script afresh. One training
# CLI run per model family (own images) and the CLI's log-line check run on both.
def only_on(backend, reason):
    """Skip a test on the other backend, saying why one pass covers it."""
    return pytest.mark.skipif(keras.backend.backend() != backend, reason=reason)


script_on_one_backend = only_on("tensorflow", "a script of the public API: run on TensorFlow, see conftest.py")
# A benchmark protocol's --quick run, end to end: its code is the same on both backends, and an eager JAX run would
# compile every operation anew (minutes here); the models' JAX paths are tested in their own tests.
quick_protocol_on_tensorflow = only_on("tensorflow", "a protocol's --quick run: on TensorFlow, see conftest.py")


def numpy(x):
    """A backend tensor (or anything array-like) as a NumPy array."""
    return ops.convert_to_numpy(x)


def uniform(shape, seed=0):
    """Tiny random data: float32 uniform in [0, 1) from a fixed generator."""
    return np.random.default_rng(seed).random(shape).astype("float32")


def bits(shape, p=0.5, seed=0):
    """Tiny random binary data: float32 0/1, each 1 with probability `p`, from a fixed generator."""
    return (uniform(shape, seed) < p).astype("float32")


def tiny_model(input_dim=6, **kwargs):
    """A LadderAE small enough to build and train in well under a second; keyword arguments override the spec."""
    return ladderae.LadderAE(input_dim, **(dict(encoder=[4], latent_dim=2, seed=0) | kwargs))


def squares(n, rng, classes=3):
    """n 8x8 uint8 images of `classes` classes with their labels: a bright square whose corner the label sets."""
    labels = rng.integers(0, classes, n)
    images = np.zeros((n, 8, 8), np.uint8)
    for row, label in enumerate(labels):
        images[row, 2 * label : 2 * label + 3, 2 * label : 2 * label + 3] = rng.integers(150, 256, (3, 3))
    return images, labels


def fixed_weights(model, scale, seed=1):
    """Overwrite every weight with a normal(0, scale) draw from a fixed generator: the same weights for any variant
    of a spec (a stop-gradient mode, a loss), and larger ones than Glorot so that no term is near zero by chance."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, scale, w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


def compile_and_fit(model, x, optimizer="adam", **fit_kwargs):
    """Compile with `optimizer` and fit on x without targets (one epoch of batches of 8 unless told); the History."""
    model.compile(optimizer=optimizer)
    return model.fit(x, **({"batch_size": 8, "epochs": 1, "verbose": 0} | fit_kwargs))


def trained_and_reloaded(model, x, path):
    """Fit `model` one epoch on x (batches of 16), save it to `path` and load it back (safe mode): the copy, whose
    graph and outputs the caller compares with the model's."""
    compile_and_fit(model, x, batch_size=16)
    model.save(path)
    restored = keras.saving.load_model(path)
    assert graph.graphs_equal(restored.graph, model.graph)
    return restored


def check_png(fig, path):
    """A plot returned its Figure and wrote it to `path` as a PNG of exactly figsize * dpi pixels."""
    assert isinstance(fig, Figure)
    height, width = matplotlib.image.imread(path).shape[:2]
    assert (width, height) == tuple(np.round(fig.get_size_inches() * fig.dpi).astype(int))


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

        grads = jax.jit(jax.grad(f))([v.value for v in variables])  # one compiled program, not an XLA call per op
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
    from ladderae.data.mnist import load_mnist

    return load_mnist(data_root)


@pytest.fixture(scope="session")
def mnist_slice(mnist):
    """2,000 training and 500 test digits (float32 in [0, 1], flattened) with labels."""
    (x_train, y_train), (x_test, y_test) = mnist
    return (x_train[:2000], y_train[:2000]), (x_test[:500], y_test[:500])
