"""The user methods of an autoencoder built on a `ladderae.network.NodeNetwork`: encode, decode, sample, ...

A mixin of `ladderae.LadderAE` (and the models built on it): each method runs
the network's walks batch by batch outside Keras' loops and returns NumPy
arrays, through the posterior mean unless asked to sample.
"""

import keras
import numpy as np
from keras import ops

from ladderae import checks
from ladderae.data import inputs as inputs_lib
from ladderae.nn.context import WalkContext
from ladderae.graph import build as graph_lib

__all__ = ["LatentMethods"]


class LatentMethods:
    """encode, posterior, activations, decode, reconstruct, sample and log p(x | z) of a model with a `network`."""

    def _examples(self, x):
        """`x` as an array, refused by name unless its examples fit the model (shape, numbers, all finite): what
        encode, posterior, activations and reconstruct read. Values outside the likelihood's support pass (they can
        be encoded; `fit` and the scores refuse them)."""
        x = np.asarray(x)
        inputs_lib.check_examples(self, x, support=False)
        return x

    def _batched(self, fn, data, batch_size, name="x"):
        """Apply `fn` (tensor -> tensor or dict of tensors) batch by batch; NumPy results."""
        data = np.asarray(data)
        if data.ndim == 0 or len(data) == 0:
            raise ValueError(f"`{name}` has no rows: pass at least one. Received: {name} with shape {data.shape}.")
        checks.check_positive_int("batch_size", batch_size)
        parts = [fn(ops.convert_to_tensor(data[i : i + batch_size])) for i in range(0, len(data), batch_size)]
        if isinstance(parts[0], dict):
            return {k: np.concatenate([ops.convert_to_numpy(p[k]) for p in parts]) for k in parts[0]}
        return np.concatenate([ops.convert_to_numpy(p) for p in parts])

    def _decoder_params(self, z):
        """The parameters of p(x | z) that the output layer emits for a batch of latent codes (backend tensor)."""
        z = ops.cast(z, self.compute_dtype)
        return self.network.walk(self.network.decoder_path(), z, WalkContext())[graph_lib.OUTPUT]

    def _mean_of(self, params):
        """The mean of p(x | z) that the output layer's `params` give, in the input's shape."""
        return ops.reshape(self.likelihood(params), (-1, *self._data_shape))

    def _full_walk(self, batch, sample):
        """Every node's activation for a batch of examples (through the posterior means unless `sample`)."""
        h = self._flatten(batch)
        return self.network.walk(self.network.order[1:], h, self._context(ops.shape(h)[0], sample))

    def _encode_batch(self, batch, sample):
        h = self._flatten(batch)
        return self.network.walk(self.network.encoder_path(), h, self._context(ops.shape(h)[0], sample))

    def posterior(self, x, batch_size=1024):
        """Mean and log-variance of q(z | x) as NumPy arrays (variational models)."""
        checks.require_variational(self, "posterior")
        out = self._batched(lambda b: {k: self._encode_batch(b, False)[k] for k in ("z_mean", "z_log_var")},
                            self._examples(x), batch_size)
        return out["z_mean"], out["z_log_var"]

    def encode(self, x, sample=False, batch_size=1024):
        """Latent codes of x: the posterior mean, or a reparameterised sample when `sample`."""
        if checks.check_bool("sample", sample):
            checks.require_variational(self, "encode(sample=True)")
        return self._batched(lambda b: self._encode_batch(b, sample)[graph_lib.LATENT], self._examples(x), batch_size)

    def activations(self, x, sample=False, batch_size=1024):
        """Every node's activation for x (through the posterior mean unless `sample`), as NumPy arrays by name."""
        if checks.check_bool("sample", sample):
            checks.require_variational(self, "activations(sample=True)")
        return self._batched(lambda batch: self._full_walk(batch, sample), self._examples(x), batch_size)

    def log_px_given_z(self, x, z):
        """log p(x | z) per example (nats) as a backend tensor; x and z are batches of equal length."""
        return -self.likelihood.nll(self._flatten(x), self._decoder_params(z))

    def decode(self, z, batch_size=1024):
        """Mean of p(x | z) (pixel probabilities for Bernoulli), in the input's shape."""
        self._check_codes(z)
        return self._batched(lambda b: self._mean_of(self._decoder_params(b)), z, batch_size, "z")

    def _check_codes(self, z):
        shape = np.shape(z)
        if len(shape) != 2 or shape[1] != self.latent_dim:
            raise ValueError(
                f"`z` must hold latent codes of width latent_dim={self.latent_dim}, shape (n, {self.latent_dim}). "
                f"Received: z with shape {shape}."
            )

    def reconstruct(self, x, sample=False, batch_size=1024):
        """decode(encode(x)): deterministic through the posterior mean unless `sample`."""
        return self.decode(self.encode(x, sample=sample, batch_size=batch_size), batch_size=batch_size)

    def sample(self, n, seed=None):
        """Decode n draws from the prior N(0, I): means of p(x | z) in the input's shape."""
        checks.require_variational(self, "sample")
        n = checks.check_positive_int("n", n)
        return self.decode(ops.convert_to_numpy(keras.random.normal((n, self.latent_dim), seed=seed)))
