"""LadderNetwork's batch-norm statistics: running ones from the clean pass's unlabelled rows, exact population ones
from `recompute_statistics`. No test here pays for a compiled fit: a training step's statistics are checked on its
eager training pass and `compute_loss` (what Keras' train_step runs before the gradient); tests/test_ladder.py's
compiled fit checks them through `fit`, and its MNIST test what evaluating with them gives on real digits."""

import keras
import numpy as np
import pytest
from conftest import numpy
from test_ladder import scrambled

import ladderae
from ladderae.nn.normalized import EPSILON

RNG = np.random.default_rng(1)
X = RNG.random((32, 6)).astype("float32")
Y = (X[:, 0] * 3).astype("int32")
NODES = ("e1", "e2", "z")


def tiny(**kwargs):
    return ladderae.LadderNetwork(6, **({"encoder": [5, 4], "n_classes": 3, "seed": 0} | kwargs))


def weights(model):
    return {v.path.split("/", 1)[1]: numpy(v) for v in model.weights}


def normalize(pre, parts=None):
    """NumPy batch normalisation, each part apart where `parts` (labelled 0/1 per row) has 10+ rows of each."""
    mean, var = pre.mean(0), pre.var(0)
    if parts is not None and 10 <= parts.sum() <= len(parts) - 10:
        mean, var = np.zeros_like(pre), np.zeros_like(pre)
        for part in (parts, ~parts):
            mean[part], var[part] = pre[part].mean(0), pre[part].var(0)
    return (pre - mean) / np.sqrt(var + EPSILON)


def training_step(model, x, y):
    """What a training step runs before its gradient, eagerly: the training pass on (x, y) and `compute_loss`,
    which moves the running statistics (no weight changes; the compiled step is tests/test_ladder.py's)."""
    out = model((x, y), training=True)
    return model.compute_loss(x=(x, y), y=y, y_pred=out)


def clean_pre_activations(w, x, statistics=None, parts=None):
    """NumPy clean pass: each layer's W h, lower layers normalised with the batch's statistics (training: per part
    as `normalize`) or, when `statistics` is a dict, with the population's (computed from x, stored in it)."""
    found, h = {}, x
    for node in NODES:
        pre = h @ w[f"{node}/kernel"]
        found[node] = pre
        if statistics is None:
            z = normalize(pre, parts)
        else:
            mean, var = statistics.setdefault(node, (pre.mean(0), pre.var(0)))
            z = (pre - mean) / np.sqrt(var + EPSILON)
        h = np.maximum(z + w[f"{node}/beta"], 0)
    return found


@pytest.mark.parametrize("unlabelled", [slice(8, None), slice(0, 20), np.arange(32) % 3 == 0, slice(0, 0)],
                         ids=["8-labelled-first", "12-labelled-last", "21-labelled-interleaved", "all-labelled"])
def test_running_statistics_follow_the_clean_pass_of_the_unlabelled_rows(unlabelled):
    """One step at momentum 0: the running statistics are the step's clean unlabelled rows' moments, not the batch's,
    however the rows lie; the labelled rows (shifted far away) would move them. A batch without unlabelled rows
    counts all of them."""
    x, y = X.copy(), Y.copy()
    y[unlabelled] = -1
    x[y >= 0] = 3 * x[y >= 0] + 2  # labelled rows from another distribution
    model = scrambled(tiny(noise_std=0.5, momentum=0.0))
    w = weights(model)
    model.compile(optimizer="adam")
    assert np.isfinite(numpy(training_step(model, x, y)))
    rows = y < 0 if np.any(y < 0) else np.ones(len(y), bool)
    for node, pre in clean_pre_activations(w, x, parts=y >= 0).items():  # the weights the step started from
        layer = model.node_layers[node]
        np.testing.assert_allclose(numpy(layer.moving_mean), pre[rows].mean(0), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(numpy(layer.moving_var), pre[rows].var(0), rtol=1e-3, atol=1e-5)
        if not rows.all():
            assert not np.allclose(numpy(layer.moving_mean), pre.mean(0), rtol=1e-2, atol=1e-3)


@pytest.mark.parametrize("n_labelled, apart", [(0, False), (9, False), (10, True), (16, True), (23, False)])
def test_a_training_pass_normalises_labelled_and_unlabelled_rows_apart_when_both_have_10_rows(n_labelled, apart):
    y = np.full(32, -1, "int32")
    y[RNG.permutation(32)[:n_labelled]] = 0
    x = X + 2 * (y >= 0)[:, None]
    model = tiny(noise_std=0.0)
    out = model((x, y), training=True)
    w = weights(model)
    parts = y >= 0
    for node, pre in clean_pre_activations(w, x, parts=parts).items():
        np.testing.assert_allclose(numpy(out[f"clean/{node}"]), normalize(pre, parts), rtol=1e-3, atol=1e-3)
        if apart:
            for part in (parts, ~parts):
                np.testing.assert_allclose(numpy(out[f"clean/{node}"])[part].mean(0), 0, atol=1e-4)
    if not apart:  # and with no labels given, one batch
        np.testing.assert_allclose(numpy(model(x, training=True)["clean/e1"]), numpy(out["clean/e1"]), atol=1e-6)


def test_denoised_and_evaluation_leave_the_running_statistics():
    model = tiny()
    model.compile(optimizer="adam")
    before = [numpy(v) for v in model.non_trainable_weights]
    model.denoised(X)
    model.evaluate(X, Y, verbose=0)
    model.predict(X, verbose=0)
    for a, v in zip(before, model.non_trainable_weights):
        np.testing.assert_array_equal(a, numpy(v))


@pytest.mark.parametrize("batch_size", [1, 5, 32, 1000])
def test_recompute_statistics_gives_the_population_moments_whatever_the_batch_size(batch_size):
    model = scrambled(tiny())  # weights and running statistics away from their start, as training leaves them
    model.compile(optimizer="adam")
    before = weights(model)
    seed_state = numpy(model.seed_generator.state)
    model.recompute_statistics(X.reshape(32, 2, 3), batch_size=batch_size)  # any shape of 6 values a row
    population = {}
    for node, pre in clean_pre_activations(before, X, population).items():
        layer = model.node_layers[node]
        np.testing.assert_allclose(numpy(layer.moving_mean), pre.mean(0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(numpy(layer.moving_var), pre.var(0), rtol=1e-4, atol=1e-6)
    after = weights(model)
    for name, value in before.items():  # only the statistics moved, and no noise was drawn
        if not name.endswith(("moving_mean", "moving_var")):
            np.testing.assert_array_equal(after[name], value, err_msg=name)
    np.testing.assert_array_equal(numpy(model.seed_generator.state), seed_state)
    # Evaluation reads them: its probabilities are the NumPy clean pass's with the population statistics.
    top = clean_pre_activations(before, X, population)["z"]
    mean, var = population["z"]
    logits = ((top - mean) / np.sqrt(var + EPSILON) + before["z/beta"]) * before["z/gamma"]
    expected = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(model.predict(X, verbose=0), expected / expected.sum(1, keepdims=True), rtol=1e-4,
                               atol=1e-6)


def test_recomputed_statistics_survive_save_and_load(tmp_path):
    model = scrambled(tiny())
    model.compile(optimizer="adam")
    model.recompute_statistics(X[:20])
    model.save(tmp_path / "ladder.keras")
    restored = keras.saving.load_model(tmp_path / "ladder.keras")
    for node in NODES:
        for name in ("moving_mean", "moving_var"):
            np.testing.assert_array_equal(numpy(getattr(restored.node_layers[node], name)),
                                          numpy(getattr(model.node_layers[node], name)))
    np.testing.assert_array_equal(restored.predict(X, verbose=0), model.predict(X, verbose=0))


@pytest.mark.parametrize("x, batch_size, match", [(X[:, :4], 10, "rows of 6 values"), (X[:0], 10, "rows of 6 values"),
                                                  (X, 0, "`batch_size` must be a positive")])
def test_recompute_statistics_names_the_bad_argument(x, batch_size, match):
    with pytest.raises(ValueError, match=match):
        tiny().recompute_statistics(x, batch_size=batch_size)
