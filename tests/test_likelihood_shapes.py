"""A likelihood declares the shape of its parameters; the output layer takes that shape."""

import math

import keras
import numpy as np
import pytest
from keras import ops

import ladderae
from ladderae import graph

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("shape, conv, expected", [((6,), (), (12,)), ((4, 4, 1), (2,), (4, 4, 2))])
def test_heteroscedastic_gaussian_doubles_the_output_and_scores_by_hand(shape, conv, expected, tmp_path):
    model = ladderae.LadderAE(input_shape=shape, encoder=[5], latent_dim=2, conv=conv, seed=0,
                              likelihood="gaussian_heteroscedastic", pairing="none")
    assert model.graph.nodes["x_hat"]["shape"] == expected
    x = RNG.normal(size=(7, *shape)).astype("float32")
    out = model(x)
    params = ops.convert_to_numpy(out["x_hat"]).reshape(7, -1, 2) if conv else ops.convert_to_numpy(out["x_hat"])
    if conv:
        mean, log_scale = params[..., 0], params[..., 1]
    else:
        mean, log_scale = params[:, :6], params[:, 6:]
    flat = x.reshape(7, -1)
    nll = (0.5 * math.log(2 * math.pi) + log_scale + 0.5 * ((flat - mean) / np.exp(log_scale)) ** 2).sum(1)
    terms = model.loss_terms(x, out, 0)
    assert float(ops.convert_to_numpy(terms["reconstruction"])) == pytest.approx(nll.mean(), rel=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(out["reconstruction"]), mean.reshape(x.shape), rtol=1e-6)
    model.save(tmp_path / "h.keras")
    restored = keras.saving.load_model(tmp_path / "h.keras")
    assert graph.graphs_equal(restored.graph, model.graph)
    np.testing.assert_allclose(restored.decode(np.ones((2, 2), "float32")), model.decode(np.ones((2, 2), "float32")))


def test_a_tie_into_an_output_of_another_shape_is_refused_by_name():
    with pytest.raises(ValueError, match="cannot tie weights.*after 'd1'.*Dense to 12.*Use tied=False"):
        ladderae.LadderAE(6, encoder=[5], latent_dim=2, likelihood="gaussian_heteroscedastic", tied_weights=True)
