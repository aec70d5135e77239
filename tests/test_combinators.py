"""Combinators: the paper's gauss and the augmented MLP against NumPy, their init, and the registry's rules."""

import keras
import numpy as np
import pytest
from conftest import numpy

import ladderae
from ladderae import combinators

RNG = np.random.default_rng(0)
LATERAL, TOP_DOWN = RNG.normal(size=(5, 3)).astype("float32"), RNG.normal(size=(5, 3)).astype("float32")


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def randomised(layer, seed=1):
    """`layer` built for 3 units with every weight a normal draw (no weight near its init by chance)."""
    layer.build((None, 3))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()])
    return {w.path.rsplit("/", 1)[-1]: numpy(w) for w in layer.weights}


def test_gauss_matches_numpy_per_unit():
    layer = combinators.get("gauss")(3)
    weights = randomised(layer)
    assert list(weights) == ["a"] and weights["a"].shape == (10, 3)  # row k-1 holds a_k, one value per unit
    a = {f"a{k}": weights["a"][k - 1] for k in range(1, 11)}
    u, z = TOP_DOWN, LATERAL
    mu = a["a1"] * sigmoid(a["a2"] * u + a["a3"]) + a["a4"] * u + a["a5"]
    v = a["a6"] * sigmoid(a["a7"] * u + a["a8"]) + a["a9"] * u + a["a10"]
    np.testing.assert_allclose(numpy(layer(z, u)), (z - mu) * v + mu, rtol=1e-5, atol=1e-6)


def test_gauss_starts_as_the_reference_code_does():
    layer = combinators.get("gauss")(3)
    layer.build((None, 3))
    (a,) = [numpy(w) for w in layer.weights]
    np.testing.assert_array_equal(a, np.array([[1.0 if k in (2, 7) else 0.0] * 3 for k in range(1, 11)]))
    np.testing.assert_array_equal(numpy(layer(LATERAL, TOP_DOWN)), np.zeros((5, 3)))  # mu = v = 0: z_hat = 0


def test_augmented_mlp_matches_numpy_per_unit():
    layer = combinators.get("amlp")(3, hidden=4)
    w = randomised(layer)
    assert w["w1"].shape == (3, 3, 4) and w["w2"].shape == (3, 4)
    features = np.stack([LATERAL, TOP_DOWN, LATERAL * TOP_DOWN], axis=-1)  # (rows, units, 3)
    pre = np.einsum("buk,ukh->buh", features, w["w1"]) + w["b1"]
    hidden = np.where(pre > 0, pre, 0.2 * pre)
    np.testing.assert_allclose(numpy(layer(LATERAL, TOP_DOWN)), (hidden * w["w2"]).sum(-1) + w["b2"],
                               rtol=1e-5, atol=1e-5)


def test_a_registered_combinator_is_used_by_name_and_taken_names_are_refused():
    @ladderae.combinator("test_copy_lateral")
    class CopyLateral(keras.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)

        def call(self, lateral, top_down):
            return lateral

    model = ladderae.LadderNetwork(6, encoder=[4], n_classes=2, combinator="test_copy_lateral")
    assert isinstance(model.pair_layers["e1_d1"]["combinator"], CopyLateral)
    with pytest.raises(ValueError, match="'gauss' is already registered.*override=True"):
        ladderae.combinator("gauss")(CopyLateral)
    with pytest.raises(ValueError, match="subclass of keras.layers.Layer"):
        ladderae.combinator("test_not_a_layer")(object)
    ladderae.combinator("test_copy_lateral", override=True)(combinators.Gauss)
    assert combinators.get("test_copy_lateral") is combinators.Gauss
    with pytest.raises(ValueError, match="Unknown combinator 'gaus' for `combinator`.*Known: .*amlp.*gauss"):
        ladderae.LadderNetwork(6, encoder=[4], n_classes=2, combinator="gaus")
