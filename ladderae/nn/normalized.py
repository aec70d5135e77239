"""`NormalizedDense`: Dense, batch normalisation, then the activation, as one node's layer.

The Ladder VAE normalises the pre-activations of its deterministic layers (the
paper calls batch normalisation, with KL warm-up, crucial for training
several latent layers). The model builds this layer for each hidden dense
node when asked (``LadderAE(batch_norm=True)``); its kernel is `kernel`, so a
tied mirror layer can borrow it. Keras passes ``training`` down from the
model's call: batch statistics in training, the moving averages otherwise.
"""

import keras

from ladderae.nn import activations

__all__ = ["NormalizedDense", "EPSILON"]

EPSILON = 1e-6  # added to batch variances before their square root (a Ladder network's batch normalisation)


@keras.saving.register_keras_serializable(package="ladderae")
class NormalizedDense(keras.layers.Layer):
    """activation(BatchNormalization(x @ kernel)): no bias (the normalisation's offset replaces it)."""

    def __init__(self, units, activation=None, momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.momentum = momentum
        self.activation = activations.get(activation)
        self.dense = keras.layers.Dense(units, use_bias=False, name="dense")
        self.norm = keras.layers.BatchNormalization(momentum=momentum, name="norm")

    def build(self, input_shape):
        self.dense.build(input_shape)
        self.norm.build((*input_shape[:-1], self.units))
        self.built = True

    @property
    def kernel(self):
        return self.dense.kernel

    def call(self, inputs, training=None):
        return self.activation(self.norm(self.dense(inputs), training=training))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "momentum": self.momentum,
                "activation": keras.activations.serialize(self.activation)}
