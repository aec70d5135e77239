"""Activations by name: Keras' own and ladderae's (Lasagne's leaky ReLU, slope 0.01, that the Ladder VAE trains
with), through the models, a saved file and the bad-name error."""

import keras
import numpy as np
import pytest
from conftest import numpy, uniform

import ladderae
from ladderae.nn import activations


def test_the_registered_leaky_relu_has_slope_one_hundredth_and_keras_its_own():
    x = keras.ops.convert_to_tensor([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(numpy(activations.get("leaky_relu_0.01")(x)), [-0.02, 0.0, 3.0], rtol=1e-6)
    np.testing.assert_allclose(numpy(activations.get("leaky_relu")(x)), [-0.4, 0.0, 3.0], rtol=1e-6)


def outputs(model, x):
    """Deterministic outputs: an autoencoder's reconstruction through the posterior means, a classifier's
    probabilities."""
    return numpy(model.reconstruct(x) if hasattr(model, "reconstruct") else model.predict(x, verbose=0))


@pytest.mark.parametrize("build", [
    lambda act: ladderae.LadderAE(6, encoder=[4], latent_dim=2, activation=act, batch_norm=True, seed=0),
    lambda act: ladderae.LadderAE(6, encoder=[4, 4], latent_dim=[3, 2], pair_kind="stochastic", activation=act,
                                  seed=0),
    lambda act: ladderae.LadderNetwork(6, encoder=[4], n_classes=2, activation=act, seed=0),
], ids=["autoencoder", "hierarchy", "ladder-network"])
def test_a_model_with_a_registered_activation_uses_it_and_saves_and_loads(build, tmp_path):
    x = uniform((5, 6))
    keras.utils.set_random_seed(0)
    relu = outputs(build("relu"), x)
    keras.utils.set_random_seed(0)  # the same initial weights: only the activation differs
    model = build("leaky_relu_0.01")
    predicted = outputs(model, x)
    assert not np.allclose(predicted, relu)
    model.save(tmp_path / "m.keras")
    restored = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_array_equal(outputs(restored, x), predicted)
    assert restored.get_config()["activation"] == "leaky_relu_0.01"


@pytest.mark.parametrize("build", [lambda: ladderae.LadderAE(6, encoder=[4], latent_dim=2, activation="leaky"),
                                   lambda: ladderae.LadderNetwork(6, encoder=[4], n_classes=2, activation="leaky")],
                         ids=["autoencoder", "ladder-network"])
def test_an_unknown_activation_is_refused_by_name_with_the_known_ones(build):
    with pytest.raises(ValueError, match=r"`activation` must be a Keras activation name .*leaky_relu_0\.01.*"
                                         r"Received: activation='leaky'"):
        build()
