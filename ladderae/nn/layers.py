"""Keras layers that ladderae models are made of (all serializable, no Lambda layers)."""

import keras
from keras import ops

from ladderae.checks import as_pair, check_positive_int
from ladderae.nn import activations

__all__ = ["DenseTransposed", "Conv2DTransposed"]


class _TiedLayer(keras.layers.Layer):
    """A decoder layer tied to an encoder layer: it owns its bias and activation, the kernel comes at call time.

    The model passes the shared kernel on every call, so the tie is a property
    of the model's graph and survives saving and loading. Subclasses say which
    kernel shape they expect and how they apply it.
    """

    kernel_axes = ""  # the names of the kernel's axes, for the error message

    def __init__(self, width, activation=None, use_bias=True, bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self._width = width
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self._width,), initializer=self.bias_initializer, name="bias")
        self.built = True

    def call(self, inputs, kernel):
        expected = self.kernel_shape(inputs.shape[-1])
        if tuple(kernel.shape) != expected:
            raise ValueError(
                f"{self.name}: the borrowed kernel has shape {tuple(kernel.shape)}, expected {expected} "
                f"({self.kernel_axes})."
            )
        outputs = self.apply_kernel(inputs, kernel)
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs)

    def get_config(self):
        return {
            **super().get_config(),
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }


@keras.saving.register_keras_serializable(package="ladderae")
class DenseTransposed(_TiedLayer):
    """A Dense layer that borrows a kernel and uses its transpose: ``activation(x @ kernel.T + bias)``.

    Tied autoencoders reuse the encoder's kernel (shape ``(units, input_dim)``
    from this layer's point of view) in the mirror decoder layer.
    """

    kernel_axes = "units, input width"

    def __init__(self, units, activation=None, use_bias=True, bias_initializer="zeros", **kwargs):
        super().__init__(check_positive_int("units", units), activation, use_bias, bias_initializer, **kwargs)
        self.units = units

    def kernel_shape(self, input_width):
        return (self.units, input_width)

    def apply_kernel(self, inputs, kernel):
        return ops.matmul(inputs, ops.transpose(kernel))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="ladderae")
class Conv2DTransposed(_TiedLayer):
    """A Conv2DTranspose that borrows the kernel of the Conv2D it mirrors: ``activation(conv_transpose(x, k) + b)``.

    A Conv2D from c_in to c_out channels has a kernel of shape
    ``(kh, kw, c_in, c_out)``, which is exactly the kernel shape of a
    Conv2DTranspose from c_out back to c_in channels, so the tied decoder layer
    uses it as it is (the transposition is in the operation). Channels-last only.
    """

    kernel_axes = "kernel height, kernel width, filters, input channels: the kernel of the Conv2D it mirrors"

    def __init__(
        self, filters, kernel_size, strides=1, padding="valid", activation=None, use_bias=True,
        bias_initializer="zeros", **kwargs,
    ):
        super().__init__(check_positive_int("filters", filters), activation, use_bias, bias_initializer, **kwargs)
        if padding not in ("same", "valid"):
            raise ValueError(f"`padding` must be 'same' or 'valid'. Received: padding={padding!r}")
        self.filters = filters
        self.kernel_size = _pair("kernel_size", kernel_size)
        self.strides = _pair("strides", strides)
        self.padding = padding

    def kernel_shape(self, input_channels):
        return (*self.kernel_size, self.filters, input_channels)

    def apply_kernel(self, inputs, kernel):
        return ops.conv_transpose(
            inputs, kernel, strides=self.strides, padding=self.padding, data_format="channels_last"
        )

    def compute_output_shape(self, input_shape):
        batch, *spatial, _ = input_shape
        sizes = [
            None if n is None else n * s + (0 if self.padding == "same" else max(k - s, 0))
            for n, k, s in zip(spatial, self.kernel_size, self.strides)
        ]
        return (batch, *sizes, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
        }


def _pair(name, value):
    """An int or (height, width) pair of positive ints, as a tuple of two."""
    pair = as_pair(value)
    if pair is None:
        raise ValueError(
            f"`{name}` must be a positive integer or a (height, width) pair of them. Received: {name}={value!r}"
        )
    return pair
