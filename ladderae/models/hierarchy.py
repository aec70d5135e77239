"""User methods of a hierarchy of latents (a Ladder VAE): every layer's codes, full reconstructions, top-down samples.

A mixin placed before `ladderae.methods.LatentMethods`. For a model whose
network holds latents below the bottleneck (``network.latents``, see
`ladderae.latents`), `encode` gives every layer's codes by latent name,
`reconstruct` runs the whole walk (the lower latents carry detail that the
top alone does not), and `sample` draws each lower latent from its prior
p(z_i | z_{i+1}), top down; `log_px_given_z` is refused (x depends on
every layer), so `ladderae.evaluate`'s one-latent scores fail loudly rather
than score a hierarchy wrongly. Any other model gets the plain methods.
"""

import keras
from keras import ops

from ladderae import checks
from ladderae.nn.context import WalkContext
from ladderae.nn import latents
from ladderae.graph import build as graph_lib

__all__ = ["HierarchyMethods"]


class HierarchyMethods:
    """encode, reconstruct and sample over every latent layer of a hierarchical model."""

    def encode(self, x, sample=False, batch_size=1024):
        """Latent codes of x; a hierarchy: {latent name: codes} for every layer (``z1``, ..., the top ``z``).

        The codes are drawn top down through the merged posteriors: their
        means (a deterministic pass, each layer's prior from the means above)
        or, with `sample`, one reparameterised sample per layer.
        """
        if not self.network.latents:
            return super().encode(x, sample=sample, batch_size=batch_size)
        checks.check_bool("sample", sample)
        names = [*self.network.latents, graph_lib.LATENT]

        def codes(batch):
            out = self._full_walk(batch, sample)
            return {name: out[name] for name in names}

        return self._batched(codes, self._examples(x), batch_size)

    def reconstruct(self, x, sample=False, batch_size=1024):
        """Mean of p(x | z) through every layer's posterior (means unless `sample`), in the input's shape."""
        if not self.network.latents:
            return super().reconstruct(x, sample=sample, batch_size=batch_size)
        checks.check_bool("sample", sample)
        return self._batched(lambda b: self._mean_of(self._full_walk(b, sample)[graph_lib.OUTPUT]), self._examples(x),
                             batch_size)

    def log_px_given_z(self, x, z):
        """log p(x | z) per example; a hierarchy refuses it: x depends on every layer's latent, not the top alone."""
        if self.network.latents:
            raise ValueError(
                f"log p(x | z) of a hierarchy needs every latent layer ({', '.join(self.network.latents)} and z), not "
                "the top alone: score it with ladderae.evaluate_hierarchy (iwae_nll, elbo, active_units)."
            )
        return super().log_px_given_z(x, z)

    def sample(self, n, seed=None):
        """Means of p(x | z) for n draws, every latent from its prior, top down (the top from N(0, I)).

        `seed` fixes every layer's draw (None: the model's noise generator).
        """
        if not self.network.latents:
            return super().sample(n, seed=seed)
        n = checks.check_positive_int("n", n)
        generator = self.seed_generator if seed is None else keras.random.SeedGenerator(seed)
        noise = {name: keras.random.normal((n, width), seed=generator)
                 for name, width in latents.widths(self.network).items()}
        return ops.convert_to_numpy(self._generate(noise))

    def _generate(self, noise):
        """Means of p(x | z) decoded top down from standard-normal `noise` by latent name: z = noise["z"], each lower
        z_i = mu_p + sigma_p * noise[z_i] from its prior given the layer above (zeros: the prior's mean)."""
        noise = {name: ops.cast(value, self.compute_dtype) for name, value in noise.items()}
        given = WalkContext(given=noise)
        params = self.network.walk(self.network.decoder_path(), noise[graph_lib.LATENT], given)[graph_lib.OUTPUT]
        return self._mean_of(params)
