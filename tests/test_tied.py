"""Tied weights: decoder layers borrow the transposed encoder kernel and keep their own bias."""

import keras
import numpy as np
from conftest import compile_and_fit, gradients, numpy, tiny_model, uniform
from keras import ops

from ladderae import DenseTransposed

X = uniform((16, 10))


def build(tied, **kwargs):
    return tiny_model(10, encoder=[6, 4], latent_dim=3, tied_weights=tied, **kwargs)


def test_tied_decoder_layers_own_only_a_bias_and_the_parameter_count_drops():
    tied, untied = build(True), build(False)
    # d2 -> d1 reuses e1 -> e2 (4x6 kernel), d1 -> x_hat reuses x -> e1 (10x6 kernel).
    assert isinstance(tied.node_layers["d1"], DenseTransposed)
    assert isinstance(tied.node_layers["x_hat"], DenseTransposed)
    assert [w.name for w in tied.node_layers["x_hat"].weights] == ["bias"]
    assert untied.count_params() - tied.count_params() == 4 * 6 + 6 * 10
    assert len(untied.trainable_variables) - len(tied.trainable_variables) == 2


def test_tied_decoder_computes_with_the_transposed_encoder_kernel():
    model = build(True, activation="tanh")
    out = model(X)
    kernel = numpy(model.node_layers["e1"].kernel)
    bias = numpy(model.node_layers["x_hat"].bias)
    np.testing.assert_allclose(numpy(out["x_hat"]), numpy(out["d1"]) @ kernel.T + bias, rtol=1e-5, atol=1e-6)


def test_both_paths_train_the_shared_kernel():
    model = build(True, pairing="mirror", consistency_weight=0.0, activation="tanh")
    # The KL term depends on the encoder path only, log p(x | z) for given codes on the decoder path only.
    from_encoder = gradients(model, lambda: model.loss_terms(X, model(X), 0)["kl"])
    z = np.random.default_rng(1).normal(size=(16, 3)).astype("float32")
    from_decoder = gradients(model, lambda: ops.sum(model.log_px_given_z(X, z)))
    assert not np.abs(from_encoder["x_hat/bias"]).any() and not np.abs(from_decoder["z_mean/kernel"]).any()
    assert np.abs(from_encoder["e1/kernel"]).sum() > 0
    assert np.abs(from_decoder["e1/kernel"]).sum() > 0
    assert "x_hat/kernel" not in from_decoder

    before = numpy(model.node_layers["e1"].kernel).copy()
    compile_and_fit(model, X)
    assert not np.allclose(numpy(model.node_layers["e1"].kernel), before)


def test_tying_survives_save_and_load(tmp_path):
    model = build(True)
    model.save(tmp_path / "tied.keras")
    restored = keras.saving.load_model(tmp_path / "tied.keras")
    np.testing.assert_allclose(restored.reconstruct(X), model.reconstruct(X))
    # Still one kernel: changing the encoder's kernel changes the decoder output.
    kernel = restored.node_layers["e1"].kernel
    kernel.assign(numpy(kernel) * 2.0)
    assert not np.allclose(restored.reconstruct(X), model.reconstruct(X))
    assert restored.count_params() == model.count_params()
