"""Hidden-layer activations by name: every Keras activation, plus the ones registered here.

A model keeps its activation as a name (in its graph and its saved config), so
an activation with a setting Keras' names do not carry is registered under a
name of its own. ``leaky_relu_0.01`` is Lasagne's ``leaky_rectify`` (slope
0.01, what the Ladder VAE's reference code trains with); Keras'
``leaky_relu`` has slope 0.2.

>>> print(keras.ops.convert_to_numpy(get("leaky_relu_0.01")(keras.ops.convert_to_tensor([-1.0, 2.0]))))
[-0.01  2.  ]
"""

import keras

from ladderae.registry import Registry

__all__ = ["activations", "activation", "get", "leaky_relu_001"]

activations = Registry("activation", "activation")
activation = activations.register


@activation("leaky_relu_0.01")
@keras.saving.register_keras_serializable(package="ladderae")
def leaky_relu_001(x):
    """Leaky ReLU with slope 0.01 below zero (Lasagne's default)."""
    return keras.ops.leaky_relu(x, negative_slope=0.01)


def get(identifier):
    """The activation function for a registered name, a Keras name or function, or None (linear)."""
    if isinstance(identifier, str) and identifier in activations.names:
        return activations.get(identifier)
    try:
        return keras.activations.get(identifier)
    except ValueError:
        raise ValueError(
            f"`activation` must be a Keras activation name (relu, tanh, leaky_relu, ...) or one of ladderae's "
            f"({', '.join(activations.names)}). Received: activation={identifier!r}"
        ) from None
