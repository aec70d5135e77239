"""LadderNetwork: graph, gradients per pair kind and mode, batch-norm statistics, data, bad input, save/load, MNIST."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import REPO, fixed_weights, gradients, numpy

import ladderae
from ladderae import GraphError, ladder_graph
from ladderae.pair_kinds.lateral import EPSILON

sys.path.insert(0, str(REPO / "benchmarks"))
from scaling import child_env  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.random((32, 6)).astype("float32")
Y = (X[:, 0] * 3).astype("int32")  # three classes


def tiny(**kwargs):
    """6 -> 5 -> 4 -> 3 classes; a pair at every depth: (x, x_hat), (e1, d1), (e2, d2), (z, z_hat)."""
    return ladderae.LadderNetwork(6, **({"encoder": [5, 4], "n_classes": 3, "seed": 0} | kwargs))


def reached(model, term):
    """The variables that get a non-zero gradient from the loss term `term` of one training pass."""
    grads = gradients(model, lambda: model.loss_terms(Y, model(X, training=True), 0)[term])
    return {name for name, g in grads.items() if np.abs(g).sum() > 0}, grads


def test_the_graph_shows_pairs_noise_and_batch_norm():
    model = tiny(noise_std=[0.3, 0.2, 0.1, 0.0], denoising_weight=[1000, 10, 0.1, 0.1])
    g = model.graph
    assert ladder_graph.flow_order(g) == ["x", "e1", "e2", "z", "y", "z_hat", "d2", "d1", "x_hat"]
    assert model.pairs == [("x", "x_hat"), ("e1", "d1"), ("e2", "d2"), ("z", "z_hat")]
    assert {n: g.nodes[n]["noise_std"] for n in ("x", "e1", "e2", "z")} == {"x": 0.3, "e1": 0.2, "e2": 0.1, "z": 0.0}
    assert [n for n in ladder_graph.flow_order(g) if g.nodes[n].get("batch_norm")] == ["e1", "e2", "z", "z_hat", "d2", "d1", "x_hat"]
    assert g.edges["x", "x_hat"]["weight"].value == 1000 and g.edges["e1", "d1"]["combinator"] == "gauss"
    assert tiny(pairing="top").pairs == [("z", "z_hat")] and tiny(pairing=[0, 2]).pairs == [("x", "x_hat"),
                                                                                            ("e2", "d2")]


# Which variables each depth-1 cost reaches: the lateral path brings e1 in, the top-down path everything above.
ABOVE_E1 = {"e1/beta", "e2/kernel", "e2/beta", "z/kernel", "z/beta", "z/gamma", "d2/kernel", "d1/kernel"}
COMBINATORS_FROM_1 = {f"g_{e}_{d}/a{k}" for e, d in (("e1", "d1"), ("e2", "d2"), ("z", "z_hat")) for k in range(1, 11)}


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("none", {"e1/kernel"} | ABOVE_E1 | COMBINATORS_FROM_1),
        ("encoder", {"e1/kernel"} | ABOVE_E1 | COMBINATORS_FROM_1),  # e1 still learns through the lateral input
        ("decoder", {"e1/kernel"}),  # only the clean target (and its statistics) moves
        ("local", ABOVE_E1 | COMBINATORS_FROM_1),  # nothing below e1: the re-run reads e1 stopped, laterals too
    ],
)
def test_lateral_cost_reaches_exactly_what_its_mode_says(mode, expected):
    model = fixed_weights(tiny(stop_gradient=mode), 0.5)
    names, grads = reached(model, "denoising_e1_d1")
    assert names == expected
    if mode == "encoder":  # same variables as "none", not the same gradient: the clean side is a constant
        _, free = reached(fixed_weights(tiny(stop_gradient="none"), 0.5), "denoising_e1_d1")
        assert not np.allclose(free["e1/kernel"], grads["e1/kernel"])


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("none", {"e1/kernel"} | ABOVE_E1),
        ("decoder", {"e1/kernel"}),
        ("local", ABOVE_E1),
    ],
)
def test_consistency_pairs_in_a_ladder_keep_their_modes(mode, expected):
    model = fixed_weights(tiny(pair_kind="consistency", stop_gradient=mode), 0.5)
    assert reached(model, "pair_e1_d1")[0] == expected


def test_the_input_pair_reaches_every_layer_and_no_pair_is_computed_below_the_lowest():
    model = fixed_weights(tiny(), 0.5)
    assert {"x_hat/kernel", "g_x_x_hat/a1", "e1/kernel"} <= reached(model, "denoising_x_x_hat")[0]
    gamma = tiny(pairing="top")
    assert gamma.network.training_path == ["e1", "e2", "z", "y", "z_hat"]
    assert gamma.term_names[-2:] == ["denoising", "denoising_z_z_hat"]
    assert set(gamma.node_layers) == set(tiny(pairing=None).node_layers) == {"e1", "e2", "z"}  # no unused decoder


@pytest.mark.parametrize("pairing", [None, "top", [1]])
def test_every_variable_gets_a_gradient(pairing):
    model = fixed_weights(tiny(pairing=pairing), 0.5)
    grads = gradients(model, lambda: model.loss_terms(Y, model(X, training=True), 0)["loss"])
    assert [name for name, g in grads.items() if not np.abs(g).sum()] == []


def test_running_statistics_come_from_the_clean_pass_and_serve_evaluation():
    model = tiny(noise_std=2.0, momentum=0.0)  # momentum 0: the running statistics are the last clean batch's
    w = {v.path.split("/", 1)[1]: numpy(v) for v in model.weights}
    model.compile(optimizer="adam")
    model.fit(X, Y, batch_size=32, epochs=1, shuffle=False, verbose=0)

    # The clean pass in NumPy with the weights the step started from.
    pre1 = X @ w["e1/kernel"]
    h1 = np.maximum((pre1 - pre1.mean(0)) / np.sqrt(pre1.var(0) + EPSILON) + w["e1/beta"], 0)
    pre2 = h1 @ w["e2/kernel"]
    for node, pre in (("e1", pre1), ("e2", pre2)):
        layer = model.node_layers[node]
        np.testing.assert_allclose(numpy(layer.moving_mean), pre.mean(0), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(numpy(layer.moving_var), pre.var(0), rtol=1e-3, atol=1e-5)

    # Evaluation uses them: a row's prediction does not depend on the rest of the batch.
    probabilities = model.predict(X, verbose=0)
    np.testing.assert_allclose(model.predict(X[:1], verbose=0), probabilities[:1], rtol=1e-5)
    np.testing.assert_allclose(probabilities.sum(1), 1, rtol=1e-5)
    error = model.evaluate(X, Y, verbose=0, return_dict=True)
    assert set(error) == {"loss", "cross_entropy", "accuracy", "error"}
    assert error["error"] == pytest.approx(np.mean(probabilities.argmax(1) != Y), abs=1e-6)


def test_fit_reports_every_term_and_counts_only_labelled_rows():
    y = Y.copy()
    y[6:] = -1
    y[:3] = [0, 1, 2]
    model = tiny()
    model.compile(optimizer="adam")
    history = model.fit(X, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    assert set(history) == {"loss", *model.term_names}
    # Only the first batch has labels (6 of its 8 rows): the epoch's cross-entropy is that batch's, not diluted.
    terms = model.loss_terms(y[:8], model(X[:8], training=True), 0)
    assert float(numpy(terms["labelled"])) == 6
    assert history["denoising_x_x_hat"][1] < history["denoising_x_x_hat"][0]


def test_semi_supervised_batches_mix_balanced_labels_with_unlabelled_rows():
    labels = ladderae.balanced_labels(Y, 3, n_classes=3, seed=0)
    assert sorted(Y[labels]) == [0, 1, 2]
    data = ladderae.SemiSupervisedBatches(X[labels], Y[labels], X, n_classes=3, batch_size=10, seed=0)
    assert len(data) == 4
    x, y = data[0]
    assert x.shape == (13, 6) and list(y[3:]) == [-1] * 10 and sorted(y[:3]) == [0, 1, 2]
    data.on_epoch_end()
    assert not np.array_equal(data[0][0], x)  # a new order every epoch, a function of (seed, epoch) alone:
    again = ladderae.SemiSupervisedBatches(X[labels], Y[labels], X, n_classes=3, batch_size=10, seed=0)
    again.set_epoch(1)  # what EpochSync does when BackupAndRestore resumes a run
    np.testing.assert_array_equal(again[0][0], data[0][0])
    model = tiny()
    model.compile(optimizer="adam")
    history = model.fit(data, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0]) and history["accuracy"][0] > 0


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(denoising_weight=[1.0, 2.0]), ValueError, "`denoising_weight` has 2 entries but the pairing gives 4"),
        (dict(pairing=[("e1", "d2")]), GraphError, r"different widths \(5 vs 4\)"),
        (dict(pairing=[("e1", "x_hat")]), GraphError, r"different widths \(5 vs 6\)"),
        (dict(pairing=[5]), GraphError, "depth is an integer from 0 .* to 3"),
        (dict(pairing="mirror"), GraphError, "`pairing` must be 'all', 'top'"),
        (dict(noise_std=-0.1), GraphError, "`noise_std` must be a non-negative number"),
        (dict(noise_std=[0.3, 0.3]), GraphError, "or a list of 4 of them"),
        (dict(n_classes=1), ValueError, "`n_classes` must be at least 2"),
        (dict(momentum=1.0), ValueError, "`momentum` must be in"),
        (dict(combinator="gaus"), ValueError, "Unknown combinator 'gaus'"),
        (dict(denoising_weight=-1.0), ValueError, "`denoising_weight` must be a finite non-negative number"),
    ],
)
def test_bad_construction_names_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        tiny(**kwargs)


def labels_with(**changes):
    y = Y.copy()
    for index, value in changes.items():
        y[int(index[1:])] = value
    return y


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda m: m.fit(X, labels_with(r0=3), verbose=0), r"labels outside \[0, n_classes=3\)"),
        (lambda m: m.fit(X, labels_with(r0=-2), verbose=0), r"labels outside \[0, n_classes=3\)"),
        (lambda m: m.fit(X, Y[:10], verbose=0), "one label per row of x"),
        (lambda m: m.fit(X, np.full(32, -1), verbose=0), "0 labelled rows, fewer than the 3 classes"),
        (lambda m: m.fit(X, verbose=0), "fit needs `y`"),
        (lambda m: m.fit(X[:, :4], Y, verbose=0), "rows of 6 values"),
        (lambda m: m.evaluate(X, labels_with(r0=-1), verbose=0), r"outside \[0, n_classes=3\)"),
        (lambda m: m.predict(X[:, :4], verbose=0), "rows of 6 values"),
        (lambda m: ladderae.SemiSupervisedBatches(X[:3], [0, 1, 3], X, n_classes=3), "y_labelled"),
        (lambda m: ladderae.SemiSupervisedBatches(X[:2], [0, 1], X, n_classes=3), "`y_labelled` must label at least one example of each of the 3"),
        (lambda m: ladderae.balanced_labels(Y, 2, n_classes=3), "`n_labels` must be a multiple of n_classes=3"),
    ],
)
def test_bad_data_names_the_argument(call, match):
    model = tiny()
    model.compile(optimizer="adam")
    before = model.get_weights()
    with pytest.raises(ValueError, match=match):
        call(model)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kwargs", [{}, {"combinator": "amlp", "stop_gradient": "local"}, {"pair_kind": "consistency"}])
def test_save_and_load_give_identical_predictions(tmp_path, kwargs):
    model = tiny(**kwargs)
    model.compile(optimizer="adam")
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "ladder.keras")
    restored = keras.saving.load_model(tmp_path / "ladder.keras")  # safe mode: no Lambda layers
    assert ladderae.graph.graphs_equal(restored.graph, model.graph)
    np.testing.assert_array_equal(restored.predict(X, verbose=0), model.predict(X, verbose=0))
    for a, b in zip(restored.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_lateral_pair_works_in_a_plain_ladder_ae():
    model = ladderae.LadderAE(6, encoder=[4], latent_dim=2, seed=0, pair_kind="lateral", denoising_weight=0.5)
    assert model.term_names[-2:] == ["denoising", "denoising_e1_d1"]
    x = (X > 0.5).astype("float32")
    model.compile(optimizer="adam")
    assert np.isfinite(model.fit(x, batch_size=8, epochs=1, verbose=0).history["denoising_e1_d1"][0])
    assert model.decode(np.zeros((2, 2), "float32")).shape == (2, 6)  # from z alone d1 is the top-down signal


def test_semi_supervised_ladder_beats_supervised_only_on_the_same_labels(mnist_slice):
    """50 labels of 2,000 training digits, 10 epochs: the ladder's unlabelled cost lowers the test error (scored with
    statistics recomputed over the training digits, as the benchmark does). On JAX: 44.4 % supervised, 38.6 % ladder
    (with the batch statistics of labelled and unlabelled rows mixed in training: 50.2 % and 40.4 %, running
    statistics)."""
    (x, y), (x_test, y_test) = mnist_slice
    labels = ladderae.balanced_labels(y, 50, seed=0)
    errors = {}
    for name, kwargs in (("supervised", {"pairing": None}), ("ladder", {"denoising_weight": [1000, 10, 0.1, 0.1]})):
        keras.utils.set_random_seed(0)
        model = ladderae.LadderNetwork(784, encoder=[200, 100], seed=0, momentum=0.9, **kwargs)
        model.compile(optimizer=keras.optimizers.Adam(2e-3))
        model.fit(ladderae.SemiSupervisedBatches(x[labels], y[labels], x, seed=0), epochs=10, verbose=0)
        model.recompute_statistics(x)
        errors[name] = model.evaluate(x_test, y_test, verbose=0, return_dict=True)["error"]
    assert errors["ladder"] < errors["supervised"] - 0.03, errors


def test_trains_on_two_devices(tmp_path):
    """A two-replica MirroredStrategy on TensorFlow, keras.distribution.DataParallel on JAX (two CPU devices)."""
    env = child_env(keras.backend.backend(), 2)
    proc = subprocess.run([sys.executable, str(REPO / "tests" / "_ladder_distributed_worker.py"), str(tmp_path)],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["device"] == "2 x cpu (logical)" and result["replicas"] == 2
    assert len(result["history"]["loss"]) == 2 and all(np.isfinite(v).all() for v in result["history"].values())
    assert set(result["evaluate"]) == {"loss", "cross_entropy", "accuracy", "error"}
    assert np.abs(result["moving_mean"]).sum() > 0  # the clean passes moved the running statistics
