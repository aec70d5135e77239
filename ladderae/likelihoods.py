"""Observation models p(x | z) of the output layer, registered by name.

Each likelihood is a small Keras layer: the decoder's last Dense layer emits
its parameters (one per input dimension), `nll` gives the negative
log-likelihood summed per example (nats), `call` the mean of p(x | z).

- ``bernoulli``: binary or [0, 1] data (binarised MNIST); parameters are logits.
- ``gaussian``: continuous data, a learned standard deviation per dimension.
  Its likelihood is unbounded on dimensions that are constant in the data (the
  learned scale shrinks without limit): use it on standardised continuous
  data, not on images with constant borders.
- ``gaussian_unit``: continuous data, unit standard deviation (0.5 * squared
  error plus a constant; MSE in nats).
"""

import keras
from keras import ops

from ladderae import losses
from ladderae.registry import Registry

__all__ = ["BernoulliLikelihood", "GaussianLikelihood", "likelihoods", "get"]

likelihoods = Registry("likelihood", "likelihood")


@keras.saving.register_keras_serializable(package="ladderae")
class BernoulliLikelihood(keras.layers.Layer):
    """Bernoulli p(x | z) parameterised by logits."""

    def nll(self, x, logits):
        return losses.bernoulli_nll(x, logits)

    def call(self, logits):
        return ops.sigmoid(logits)


@keras.saving.register_keras_serializable(package="ladderae")
class GaussianLikelihood(keras.layers.Layer):
    """Gaussian p(x | z) with the decoder output as mean and a per-dimension log-scale."""

    def __init__(self, learn_scale=True, **kwargs):
        super().__init__(**kwargs)
        self.learn_scale = bool(learn_scale)

    def build(self, input_shape):
        self.log_scale = None
        if self.learn_scale:
            self.log_scale = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="log_scale")
        self.built = True

    def nll(self, x, mean):
        log_scale = self.log_scale if self.learn_scale else ops.zeros_like(mean)
        return losses.gaussian_nll(x, mean, log_scale)

    def call(self, mean):
        return mean

    def get_config(self):
        return {**super().get_config(), "learn_scale": self.learn_scale}


likelihoods.register("bernoulli")(BernoulliLikelihood)
likelihoods.register("gaussian")(lambda **kw: GaussianLikelihood(learn_scale=True, **kw))
likelihoods.register("gaussian_unit")(lambda **kw: GaussianLikelihood(learn_scale=False, **kw))


def get(identifier, **layer_kwargs):
    """Build the likelihood layer registered under the name `identifier`."""
    return likelihoods.get(identifier)(**layer_kwargs)
