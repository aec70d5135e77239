"""Keras layers that ladderae models are made of (all serializable, no Lambda layers)."""

import keras
from keras import ops

__all__ = ["DenseTransposed"]


@keras.saving.register_keras_serializable(package="ladderae")
class DenseTransposed(keras.layers.Layer):
    """A Dense layer that borrows a kernel and uses its transpose: ``activation(x @ kernel.T + bias)``.

    Tied autoencoders reuse the encoder's kernel (shape ``(units, input_dim)``
    from this layer's point of view) in the mirror decoder layer. The layer owns
    only its bias; the model passes the shared kernel at call time, so the tie
    is a property of the model's graph and survives saving and loading.
    """

    def __init__(self, units, activation=None, use_bias=True, bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError(f"`units` must be a positive integer. Received: units={units!r}")
        self.units = units
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer, name="bias")
        self.built = True

    def call(self, inputs, kernel):
        if tuple(kernel.shape) != (self.units, inputs.shape[-1]):
            raise ValueError(
                f"{self.name}: the borrowed kernel has shape {tuple(kernel.shape)}, expected "
                f"{(self.units, inputs.shape[-1])} (units, input width)."
            )
        outputs = ops.matmul(inputs, ops.transpose(kernel))
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
