"""The baseline: a plain VAE written the way a Keras 3 user writes one (keras.io style).

A sampling layer, functional encoder and decoder, and a `keras.Model` subclass
whose `compute_loss` Keras' own training step calls (so it trains on every
backend, as a Keras 3 user's model does), Bernoulli likelihood from logits, reconstruction summed over pixels and KL summed
over latent dimensions, both averaged over the batch. With `conv` filters it is
the keras.io convolutional VAE: Conv2D layers (stride 2, "same"), Flatten and
Dense layers in the encoder; Dense layers, a Dense to the last feature map,
Reshape and Conv2DTranspose layers back to the image in the decoder. It imports nothing from
ladderae on purpose: a bug in ladderae cannot hide on both sides of the
comparison.

`posterior` and `log_px_given_z` let the shared evaluation code (IWAE, active
units, probes) score it; its own `evaluate` gives an independent negative ELBO.
"""

import keras
from keras import layers, ops


class Sampling(layers.Layer):
    """z = mean + exp(0.5 * log_var) * eps; saved weights keep the noise state, so a restored run draws on."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        eps = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * eps

    def save_own_variables(self, store):
        store["seed_generator_state"] = self.seed_generator.state

    def load_own_variables(self, store):
        self.seed_generator.state.assign(store["seed_generator_state"])


def build_encoder(input_shape, conv, hidden, latent_dim, activation, seed):
    inputs = keras.Input(shape=input_shape)
    h = inputs
    for filters in conv:
        h = layers.Conv2D(filters, 3, strides=2, padding="same", activation=activation)(h)
    if conv:
        h = layers.Flatten()(h)
    for units in hidden:
        h = layers.Dense(units, activation=activation)(h)
    z_mean = layers.Dense(latent_dim, name="z_mean")(h)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(h)
    z = Sampling(seed)([z_mean, z_log_var])
    return keras.Model(inputs, [z_mean, z_log_var, z], name="encoder")


def build_decoder(input_shape, conv, hidden, latent_dim, activation):
    inputs = keras.Input(shape=(latent_dim,))
    h = inputs
    for units in reversed(hidden):
        h = layers.Dense(units, activation=activation)(h)
    if not conv:
        return keras.Model(inputs, layers.Dense(input_shape[0])(h), name="decoder")  # logits
    side = input_shape[0] // 2 ** len(conv)  # square images whose side the strides divide
    h = layers.Dense(side * side * conv[-1], activation=activation)(h)
    h = layers.Reshape((side, side, conv[-1]))(h)
    for filters in reversed(conv[:-1]):
        h = layers.Conv2DTranspose(filters, 3, strides=2, padding="same", activation=activation)(h)
    logits = layers.Conv2DTranspose(input_shape[-1], 3, strides=2, padding="same")(h)
    return keras.Model(inputs, logits, name="decoder")


def _sum_over_pixels(values):
    return ops.sum(values, axis=tuple(range(1, len(values.shape))))


class VAE(keras.Model):
    def __init__(self, input_shape, hidden=(512, 256), latent_dim=32, activation="relu", seed=None, conv=(), **kwargs):
        super().__init__(**kwargs)
        self.encoder = build_encoder(input_shape, conv, hidden, latent_dim, activation, seed)
        self.decoder = build_decoder(input_shape, conv, hidden, latent_dim, activation)
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl")
        self.build((None, *input_shape))

    def call(self, inputs):
        z_mean, z_log_var, z = self.encoder(inputs)
        return self.decoder(z), z_mean, z_log_var

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        logits, z_mean, z_log_var = y_pred
        reconstruction = ops.mean(_sum_over_pixels(ops.binary_crossentropy(x, logits, from_logits=True)))
        kl = ops.mean(ops.sum(-0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var)), axis=1))
        self.reconstruction_loss_tracker.update_state(reconstruction)
        self.kl_loss_tracker.update_state(kl)
        return reconstruction + kl  # Keras' own tracker reports it as `loss`

    # For the shared evaluation code.
    variational = True

    def posterior(self, x):
        z_mean, z_log_var, _ = self.encoder.predict(x, batch_size=1000, verbose=0)
        return z_mean, z_log_var

    def reconstruct(self, x):
        return ops.convert_to_numpy(ops.sigmoid(self.decoder(self.posterior(x)[0])))

    def log_px_given_z(self, x, z):
        logits = self.decoder(ops.convert_to_tensor(z))
        return -_sum_over_pixels(ops.binary_crossentropy(ops.convert_to_tensor(x), logits, from_logits=True))
