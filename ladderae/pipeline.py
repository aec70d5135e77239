"""tf.data input pipelines for training and evaluation.

Both pipelines yield batches of ``x`` only (no labels), so an autoencoder can
be trained with ``model.fit(ds)``; they work as ``fit`` input on the
TensorFlow and the JAX backend (Keras turns tf.data into numpy for JAX).
"""

import numpy as np
import tensorflow as tf

from .datasets import _check_unit_interval

__all__ = ["dynamic_binarization", "batched"]


def dynamic_binarization(
    x, batch_size=128, *, seed=0, shuffle=True, drop_remainder=False
):
    """Batches of ``x`` freshly Bernoulli-binarised on every epoch.

    Each new iteration of the dataset (each epoch) sets every pixel to 1 with
    probability ``x``, independently of the previous epochs: the dynamic
    binarisation of the VAE/IWAE literature, which overfits less than training
    on one fixed binarisation. The sequence of epochs (order and samples) is
    reproducible for a given ``seed`` (and TensorFlow global seed, if set).

    Parameters
    ----------
    x : array_like of float
        Pixel probabilities in [0, 1], shape ``(n, ...)``.
    batch_size : int
        Examples per batch.
    seed : int
        Seed of the shuffling and of the binarisation.
    shuffle : bool
        Reshuffle the examples on every epoch.
    drop_remainder : bool
        Drop the last batch when it is smaller than ``batch_size``.

    Returns
    -------
    tf.data.Dataset
        float32 batches of 0.0/1.0 with shape ``(batch, ...)``.
    """
    x = _check_unit_interval(x, "x")
    ds = _batches(x, batch_size, shuffle, seed, drop_remainder)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    ds = tf.data.Dataset.zip(ds, seeds)
    ds = ds.map(_sample, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def batched(x, batch_size=128, shuffle=False, seed=0):
    """Plain batches of ``x`` (no binarisation), for continuous data or evaluation.

    Parameters
    ----------
    x : array_like
        Examples, shape ``(n, ...)``.
    batch_size : int
        Examples per batch; the last batch may be smaller.
    shuffle : bool
        Reshuffle the examples on every epoch, reproducibly for ``seed``.
    seed : int
        Seed of the shuffling.

    Returns
    -------
    tf.data.Dataset
        Batches of ``x`` with its dtype, prefetched.
    """
    ds = _batches(np.asarray(x), batch_size, shuffle, seed)
    return ds.prefetch(tf.data.AUTOTUNE)


def _batches(x, batch_size, shuffle, seed, drop_remainder=False):
    """Optionally shuffled (anew each epoch) batches of the array ``x``."""
    is_int = isinstance(batch_size, (int, np.integer))
    if not is_int or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive int, got {batch_size!r}.")
    ds = tf.data.Dataset.from_tensor_slices(x)
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(int(batch_size), drop_remainder=drop_remainder)


def _sample(probs, seed):
    """One Bernoulli draw per pixel of ``probs``, from a stateless seed pair."""
    u = tf.random.stateless_uniform(tf.shape(probs), seed=seed)
    return tf.cast(u < probs, tf.float32)
