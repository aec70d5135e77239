"""A batch given in parts (labelled rows, unlabelled rows: `LadderNodes.forward_parts`) trains the Ladder network
as the same rows mixed do: the same terms, gradients and running statistics, with the decoder run on the unlabelled
rows alone. `fit` on a `SemiSupervisedBatches` takes that path when every batch has enough rows of each part."""

import keras
import numpy as np
import pytest
from conftest import gradients, numpy

import ladderae
from ladderae import ladder_data
from ladderae.nn.ladder_walk import MIN_PART_ROWS

LABELLED, UNLABELLED = 12, 16


def batch(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((LABELLED + UNLABELLED, 20)).astype("float32")
    y = np.concatenate([np.arange(LABELLED) % 10, np.full(UNLABELLED, -1)]).astype("int32")
    return x, y


def ladder(**kwargs):  # no noise: both passes see the same numbers, so the two layouts must agree to rounding
    if "pairing" not in kwargs:
        kwargs["denoising_weight"] = [10.0, 1.0, 0.1, 0.1]  # per pair, from the input side
    return ladderae.LadderNetwork(20, encoder=[8, 6], noise_std=0.0, seed=0, **kwargs)


@pytest.mark.parametrize("kwargs", [{}, {"stop_gradient": "local"}, {"stop_gradient": "encoder"},
                                    {"pairing": "top"}, {"pairing": None}, {"combinator": "amlp"}],
                         ids=["ladder", "local", "encoder", "gamma", "supervised", "amlp"])
def test_parts_give_the_mixed_batchs_terms_and_gradients(kwargs):
    model = ladder(**kwargs)
    x, y = batch()
    parts = {"labelled": x[:LABELLED], "unlabelled": x[LABELLED:]}

    def terms(inputs, labels):
        return model.loss_terms(labels, model(inputs, training=True), 0)

    mixed, split = terms((x, y), y), terms(parts, y[:LABELLED])
    for name in ["loss", *model.term_names]:
        np.testing.assert_allclose(numpy(split[name]), numpy(mixed[name]), rtol=2e-5, atol=1e-6, err_msg=name)
    grad_mixed = gradients(model, lambda: terms((x, y), y)["loss"])
    grad_split = gradients(model, lambda: terms(parts, y[:LABELLED])["loss"])
    assert set(grad_split) == set(grad_mixed)
    for name, value in grad_mixed.items():
        scale = np.abs(value).max()  # float rounding of sums in another order, relative to the layer's gradient
        np.testing.assert_allclose(grad_split[name], value, rtol=1e-4, atol=1e-5 * scale, err_msg=name)
    assert any(np.any(g != 0) for g in grad_split.values())


def test_parts_move_the_running_statistics_as_the_mixed_batch_does():
    x, y = batch(1)
    moved = []
    for inputs, labels in (((x, y), y), ({"labelled": x[:LABELLED], "unlabelled": x[LABELLED:]}, y[:LABELLED])):
        keras.utils.set_random_seed(0)  # the same initial weights for both
        model = ladder()
        model.compute_loss(inputs, labels, model(inputs, training=True))
        moved.append([numpy(v) for layer in model.network.layers.values() if hasattr(layer, "moving_mean")
                      for v in (layer.moving_mean, layer.moving_var)])
    for split, mixed in zip(*moved):
        np.testing.assert_allclose(split, mixed, rtol=1e-5, atol=1e-7)
    assert not np.allclose(moved[0][0], 0.0)  # they moved


def test_the_decoder_of_a_batch_in_parts_runs_on_the_unlabelled_rows_alone():
    model = ladder()
    x, _ = batch()
    out = model({"labelled": x[:LABELLED], "unlabelled": x[LABELLED:]}, training=True)
    assert out["x_hat"].shape[0] == out["clean/x"].shape[0] == UNLABELLED
    assert out["supervised"].shape == out["clean/supervised"].shape == (LABELLED, 10)
    probabilities = model({"labelled": x[:LABELLED], "unlabelled": x[LABELLED:]})  # outside training: every row
    np.testing.assert_allclose(numpy(probabilities), numpy(model(x)), rtol=1e-6)


def semi_supervised(labelled_batch_size=MIN_PART_ROWS, unlabelled=40, batch_size=MIN_PART_ROWS):
    x, _ = batch()
    rng = np.random.default_rng(2)
    return ladderae.SemiSupervisedBatches(x[:10], np.arange(10), rng.random((unlabelled, 20)).astype("float32"),
                                          batch_size=batch_size, labelled_batch_size=labelled_batch_size)


@pytest.mark.parametrize("data, kwargs, parts", [
    (semi_supervised(), {}, True),
    (semi_supervised(labelled_batch_size=MIN_PART_ROWS - 1), {}, False),   # too few labelled rows to normalise apart
    (semi_supervised(unlabelled=4 * MIN_PART_ROWS + 3), {}, False),        # the last batch: 3 unlabelled rows
    (semi_supervised(), {"pair_kind": "consistency"}, False),             # a consistency cost reads every row
], ids=["parts", "few-labelled", "short-last-batch", "consistency"])
def test_fit_gives_a_semi_supervised_batch_in_parts_only_when_parts_compute_the_same(data, kwargs, parts,
                                                                                      monkeypatch):
    seen = []
    monkeypatch.setattr(keras.Model, "fit", lambda self, x, y=None, **kw: seen.append(x))
    ladder(**kwargs).fit(data, epochs=1)
    (given,) = seen
    assert isinstance(given, ladder_data.WithLabels) and given.parts == parts
    inputs, labels = given[0]
    if parts:
        assert set(inputs) == {"labelled", "unlabelled"} and len(labels) == len(inputs["labelled"])
        np.testing.assert_array_equal(inputs["labelled"], data[0][0][: data.labelled_batch_size])
        np.testing.assert_array_equal(labels, data[0][1][: data.labelled_batch_size])
    else:
        assert isinstance(inputs, tuple) and len(labels) == len(inputs[0])
