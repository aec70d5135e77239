"""Loss terms as pure functions over tensors (`keras.ops`, any backend).

Per-example terms return a vector of shape (batch,): they are summed over every
non-batch axis, so their batch mean is in nats per example and comparable with
the literature (summing, not averaging, over pixels: averaging would silently
act like a much larger KL weight). Pair losses return a scalar.
"""

import math

from keras import ops

from ladderae.registry import Registry

__all__ = [
    "bernoulli_nll",
    "gaussian_nll",
    "gaussian_kl",
    "gaussian_log_density",
    "reparameterize",
    "mse",
    "normalized_mse",
    "pair_losses",
    "pair_loss",
    "get",
]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _sum_non_batch(values):
    return ops.sum(ops.reshape(values, (ops.shape(values)[0], -1)), axis=1)


def bernoulli_nll(x, logits):
    """-log Bernoulli(x | sigmoid(logits)), summed per example, computed stably from logits."""
    x = ops.cast(x, logits.dtype)
    per_dim = ops.relu(logits) - logits * x + ops.log1p(ops.exp(-ops.abs(logits)))
    return _sum_non_batch(per_dim)


def gaussian_nll(x, mean, log_scale):
    """-log N(x | mean, exp(log_scale)^2), summed per example."""
    x = ops.cast(x, mean.dtype)
    z = (x - mean) * ops.exp(-log_scale)
    return _sum_non_batch(_HALF_LOG_2PI + log_scale + 0.5 * ops.square(z))


def gaussian_kl(mean, log_var):
    """KL(N(mean, exp(log_var)) || N(0, 1)) per latent dimension, shape (batch, latent)."""
    return 0.5 * (ops.square(mean) + ops.exp(log_var) - 1.0 - log_var)


def gaussian_log_density(z, mean=None, log_var=None):
    """log N(z | mean, exp(log_var)) summed over the latent axis, shape (batch,); N(0, I) where mean is None."""
    if mean is None:
        return -ops.sum(_HALF_LOG_2PI + 0.5 * ops.square(z), axis=-1)
    return -ops.sum(_HALF_LOG_2PI + 0.5 * log_var + 0.5 * ops.square(z - mean) * ops.exp(-log_var), axis=-1)


def reparameterize(mean, log_var, eps):
    """z = mean + std * eps with std = exp(0.5 * log_var) (not exp(log_var): that is the variance)."""
    return mean + ops.exp(0.5 * log_var) * eps


pair_losses = Registry("pair loss", "consistency_loss")
pair_loss = pair_losses.register
get = pair_losses.get


@pair_loss("mse")
def mse(encoder_side, decoder_side):
    """Mean squared difference over units and batch.

    Use it when the encoder side is a fixed target (stop-gradient modes
    `encoder` and `local`): then it cannot be lowered by shrinking both sides.
    """
    return ops.mean(ops.square(encoder_side - decoder_side))


NORMALIZED_MSE_FLOOR = 1.0


@pair_loss("normalized_mse")
def normalized_mse(encoder_side, decoder_side):
    """MSE per unit divided by that unit's batch variance on the encoder side (plus a floor), averaged over units.

    Scaling both sides by c leaves it unchanged, so with gradient into the
    encoder side (modes `none` and `decoder`) the pair cannot be matched by
    collapsing the activations toward a constant: the ladder-network fix, which
    normalises with the clean encoder's batch statistics.

    A unit is the last axis, with statistics over all the others, as batch
    normalisation does: a feature of a dense layer (over the batch), a channel
    of a feature map (over the batch and every position). A unit that is
    constant over the batch (a dead ReLU, a blank border, a last batch of one
    example) has variance 0, so the variance gets a floor that scales with the
    data: ``NORMALIZED_MSE_FLOOR`` times the mean square of both sides over the
    whole layer. It keeps the loss scale-free and bounded (no unit weighs more
    than its squared mismatch over the layer's mean square). Measured on a tiny
    model with constant inputs and a last batch of one, plain SGD (learning
    rate 0.1 and 0.01) trains in every stop-gradient mode with this floor; with
    a fixed epsilon (1e-4, the earlier rule) or a floor of 1% or 10% of the mean
    square it reaches NaN in some modes.
    """
    axes = tuple(range(len(encoder_side.shape) - 1))
    per_unit = ops.mean(ops.square(encoder_side - decoder_side), axis=axes)
    scale = 0.5 * (ops.mean(ops.square(encoder_side)) + ops.mean(ops.square(decoder_side)))
    floor = NORMALIZED_MSE_FLOOR * scale + 1e-12  # 1e-12: 0 / 0 where both sides are all zero
    return ops.mean(per_unit / (ops.var(encoder_side, axis=axes) + floor))
