"""A function of a model's layers compiled by Keras itself (XLA on JAX, `tf.function` on TensorFlow).

Scoring loops call one computation thousands of times (IWAE with k=5000 on
10,000 digits: 10,000 decoder passes of 5,000 rows). Run eagerly, every op is
dispatched alone and nothing is fused: the likelihood's element-wise work on
5,000 x 784 values cost more than the decoder's products. `compiled` wraps the
function in a `keras.Model` whose `predict_on_batch` Keras compiles, so the
same code runs compiled on either backend, with the model's own variables.
"""

import keras


class _Compiled(keras.Model):
    """`fn(target, inputs)` as a model's call, so that Keras' predict step compiles it; not for saving."""

    def __init__(self, target, fn):
        super().__init__(name=f"compiled_{fn.__name__.strip('_')}")
        self.target = target
        self.fn = fn

    def call(self, inputs):
        return self.fn(self.target, inputs)


def compiled(model, fn):
    """`fn(model, inputs)` as a function of `inputs` (a dict of arrays) returning NumPy arrays, compiled once per
    input shape (keep the shapes few: the chunks of a loop, not every example apart)."""
    return _Compiled(model, fn).predict_on_batch
