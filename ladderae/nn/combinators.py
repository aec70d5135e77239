"""Combinators: how a lateral pair merges the lateral signal e_i with the top-down signal u into d_i.

A combinator is a Keras layer class built per pair as ``cls(units, name=...)``
and called as ``layer(lateral, top_down)``; it returns the denoised estimate
z_hat (same shape). Its parameters act per unit, on the last axis. Two ship:

- ``gauss`` (Rasmus et al. 2015): 10 parameters per unit,
  ``mu = a1*sigmoid(a2*u + a3) + a4*u + a5``,
  ``v = a6*sigmoid(a7*u + a8) + a9*u + a10``,
  ``z_hat = (z_tilde - mu) * v + mu``, initialised as the reference code
  does (a2 = a7 = 1, every other a_k = 0: z_hat starts at 0);
- ``amlp`` (the augmented MLP of Pezeshki et al. 2016): per unit, an MLP
  with one hidden layer of leaky-ReLU units over ``[z_tilde, u, z_tilde*u]``.

Register your own with the decorator (a taken name needs ``override=True``):

>>> import keras, ladderae
>>> @ladderae.combinator("sum")
... class Sum(keras.layers.Layer):
...     '''z_hat = z_tilde + u: no parameters.'''
...     def __init__(self, units, **kwargs):
...         super().__init__(**kwargs)
...         self.units = units
...     def call(self, lateral, top_down):
...         return lateral + top_down
...     def get_config(self):
...         return {**super().get_config(), "units": self.units}
>>> "sum" in ladderae.combinators.combinators.names
True
"""

import keras
import numpy as np
from keras import ops

from ladderae.checks import check_positive_int
from ladderae.registry import Registry

__all__ = ["combinators", "combinator", "get", "Gauss", "AugmentedMLP"]

combinators = Registry("combinator", "combinator")


def combinator(name, *, override=False):
    """Class decorator: register a Keras layer class ``cls(units, name=...)`` with ``call(lateral, top_down)``."""
    register = combinators.register(name, override=override)

    def decorator(cls):
        if not (isinstance(cls, type) and issubclass(cls, keras.layers.Layer)):
            raise ValueError(f"@combinator({name!r}) decorates a subclass of keras.layers.Layer. Received: {cls!r}")
        return register(cls)

    return decorator


get = combinators.get


@combinator("gauss")
@keras.saving.register_keras_serializable(package="ladderae")
class Gauss(keras.layers.Layer):
    """The Ladder paper's per-unit combinator: a Gaussian denoiser whose mean and scale depend on u.

    Its weight ``a`` has shape (10, units): row k-1 holds a_k for every unit.
    """

    # a_k -> initial value (the reference code's: a2 = a7 = 1, the rest 0).
    INIT = {f"a{k}": 1.0 if k in (2, 7) else 0.0 for k in range(1, 11)}

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)

    def build(self, input_shape=None):
        # One (10, units) weight, row k-1 holding a_k: one variable for the optimizer instead of ten (TensorFlow
        # traces a ladder's training step about 3x faster).
        initial = np.repeat(np.array([list(self.INIT.values())], "float32").T, self.units, axis=1)
        self.a = self.add_weight(shape=(len(self.INIT), self.units), name="a",
                                 initializer=lambda shape, dtype=None: ops.cast(initial, dtype))
        self.built = True

    def call(self, lateral, top_down):
        u = top_down
        a1, a2, a3, a4, a5, a6, a7, a8, a9, a10 = ops.unstack(ops.convert_to_tensor(self.a), axis=0)
        mu = a1 * ops.sigmoid(a2 * u + a3) + a4 * u + a5
        v = a6 * ops.sigmoid(a7 * u + a8) + a9 * u + a10
        return (lateral - mu) * v + mu

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@combinator("amlp")
@keras.saving.register_keras_serializable(package="ladderae")
class AugmentedMLP(keras.layers.Layer):
    """Pezeshki et al.'s augmented MLP: per unit, ``w2 . leaky_relu(W1 [z, u, z*u] + b1) + b2``.

    Each unit has its own `hidden` x 3 first-layer weights (Glorot-scaled
    normal draws), `hidden` output weights and two biases (zeros).
    """

    def __init__(self, units, hidden=4, **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.hidden = check_positive_int("hidden", hidden)

    def build(self, input_shape=None):
        self.w1 = self.add_weight(shape=(self.units, 3, self.hidden), name="w1",
                                  initializer=keras.initializers.RandomNormal(stddev=(2 / (3 + self.hidden)) ** 0.5))
        self.b1 = self.add_weight(shape=(self.units, self.hidden), initializer="zeros", name="b1")
        self.w2 = self.add_weight(shape=(self.units, self.hidden), name="w2",
                                  initializer=keras.initializers.RandomNormal(stddev=(2 / (1 + self.hidden)) ** 0.5))
        self.b2 = self.add_weight(shape=(self.units,), initializer="zeros", name="b2")
        self.built = True

    def call(self, lateral, top_down):
        features = ops.stack([lateral, top_down, lateral * top_down], axis=-1)  # (..., units, 3)
        hidden = ops.leaky_relu(ops.einsum("...uk,ukh->...uh", features, self.w1) + self.b1)
        return ops.sum(hidden * self.w2, axis=-1) + self.b2

    def get_config(self):
        return {**super().get_config(), "units": self.units, "hidden": self.hidden}
