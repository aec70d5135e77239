"""Observation models p(x | z) of the output layer, registered by name.

Each likelihood is a small Keras layer: the decoder's last layer emits its
parameters, in the shape `param_shape` declares (one per input value by
default; the graph's output node takes that shape), `nll` gives the negative
log-likelihood summed per example (nats), `call` the mean of p(x | z).

- ``bernoulli``: binary or [0, 1] data (binarised MNIST); parameters are logits.
- ``gaussian``: continuous data, a learned standard deviation per dimension.
  Its likelihood is unbounded on dimensions that are constant in the data (the
  learned scale shrinks without limit): use it on standardised continuous
  data, not on images with constant borders.
- ``gaussian_unit``: continuous data, unit standard deviation (0.5 * squared
  error plus a constant; MSE in nats).
- ``gaussian_heteroscedastic``: continuous data, a mean and a log-scale for
  every value of every example, both emitted by the decoder (its output has
  twice the input's last axis: means, then log-scales).

A likelihood over several blocks of the output (the columns of a table, see
`ladderae.tabular.ColumnLikelihood`) reports one term per block through
`nll_terms` and weights them in the loss through `term_weights`.
"""

import keras
import numpy as np
from keras import ops

from ladderae.nn import losses
from ladderae.registry import Registry

__all__ = [
    "Likelihood",
    "BernoulliLikelihood",
    "GaussianLikelihood",
    "HeteroscedasticGaussianLikelihood",
    "likelihoods",
    "get",
]

likelihoods = Registry("likelihood", "likelihood")


class Likelihood(keras.layers.Layer):
    """Base of the observation models: `nll` per example, `call` the mean, `nll_terms` its reported parts.

    A likelihood made of parts overrides `nll_terms` (one per-example term per
    part, named as they appear in the metrics) and `term_weights` (the weight of
    each part in the training loss; the reported ``reconstruction`` stays the
    unweighted sum, so ``neg_elbo`` is always the true negative ELBO).
    """

    nll_term_names = ("reconstruction",)

    def param_shape(self, data_shape):
        """Shape of the parameters for one example whose data have `data_shape` (the decoder's output shape)."""
        return tuple(data_shape)

    def check_support(self, x, name="x"):
        """Refuse data (a NumPy array) this likelihood cannot score, naming `name` and the fix; any finite value here."""

    def nll_terms(self, x, params):
        return {"reconstruction": self.nll(x, params)}

    @property
    def term_weights(self):
        return {}


@keras.saving.register_keras_serializable(package="ladderae")
class BernoulliLikelihood(Likelihood):
    """Bernoulli p(x | z) parameterised by logits."""

    def check_support(self, x, name="x"):
        """Values in [0, 1]: binary data, or probabilities (grey levels scaled to [0, 1])."""
        lo, hi = float(np.min(x)), float(np.max(x))
        if lo < 0 or hi > 1:
            raise ValueError(
                f"`{name}` has values in [{lo:g}, {hi:g}], but the Bernoulli likelihood scores values in [0, 1]: "
                "scale the data to [0, 1] (uint8 images: x / 255), binarise them "
                "(ladderae.pipeline.DynamicBinarization), or use likelihood='gaussian' for real-valued data."
            )

    def nll(self, x, logits):
        return losses.bernoulli_nll(x, logits)

    def call(self, logits):
        return ops.sigmoid(logits)


@keras.saving.register_keras_serializable(package="ladderae")
class GaussianLikelihood(Likelihood):
    """Gaussian p(x | z) with the decoder output as mean and a per-dimension log-scale."""

    def __init__(self, learn_scale=True, **kwargs):
        super().__init__(**kwargs)
        self.learn_scale = bool(learn_scale)

    def build(self, input_shape):
        self.log_scale = None
        if self.learn_scale:
            # One scale per output dimension: per pixel and channel of a conv decoder's output, too.
            self.log_scale = self.add_weight(shape=tuple(input_shape[1:]), initializer="zeros", name="log_scale")
        self.built = True

    def nll(self, x, mean):
        log_scale = self.log_scale if self.learn_scale else ops.zeros_like(mean)
        return losses.gaussian_nll(x, mean, log_scale)

    def call(self, mean):
        return mean

    def get_config(self):
        return {**super().get_config(), "learn_scale": self.learn_scale}


@keras.saving.register_keras_serializable(package="ladderae")
class HeteroscedasticGaussianLikelihood(Likelihood):
    """Gaussian p(x | z) with a mean and a log-scale per value, both from the decoder.

    The parameters double the last axis: ``params[..., :n]`` are the means and
    ``params[..., n:]`` the log-scales of the n values on that axis (pixels of
    a flattened image, channels of a feature map).
    """

    def param_shape(self, data_shape):
        return (*data_shape[:-1], 2 * data_shape[-1])

    def _split(self, params):
        n = params.shape[-1] // 2
        return params[..., :n], params[..., n:]

    def nll(self, x, params):
        mean, log_scale = self._split(params)
        return losses.gaussian_nll(x, mean, log_scale)

    def call(self, params):
        return self._split(params)[0]


likelihoods.register("bernoulli")(BernoulliLikelihood)
likelihoods.register("gaussian_heteroscedastic")(HeteroscedasticGaussianLikelihood)
likelihoods.register("gaussian")(lambda **kw: GaussianLikelihood(learn_scale=True, **kw))
likelihoods.register("gaussian_unit")(lambda **kw: GaussianLikelihood(learn_scale=False, **kw))


def get(identifier, **layer_kwargs):
    """The likelihood layer registered under the name `identifier`, or `identifier` itself if it is a `Likelihood`."""
    if isinstance(identifier, Likelihood):
        return identifier
    if isinstance(identifier, dict):  # a serialised custom likelihood, from get_config
        return keras.saving.deserialize_keras_object(identifier)
    return likelihoods.get(identifier)(**layer_kwargs)
