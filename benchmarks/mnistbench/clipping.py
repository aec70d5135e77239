"""The Ladder VAE code's clipped Adam step (casperkaae/LVAE, run_models.py 731-737).

Its gradients go through Lasagne's ``total_norm_constraint(grads, max_norm=4)``
(each scaled by ``min(norm, 4) / (norm + 1e-7)``, `norm` their global norm),
then each element is clipped to +-0.9, before Adam's update. Keras takes one of
``global_clipnorm`` and ``clipvalue``, not both; this Adam applies both, in
that order. `_clip_gradients` is the one hook that every backend's update step
calls (plain, stateless and with gradient accumulation), so the clipping runs
inside the compiled step on JAX and TensorFlow alike.
"""

import keras
from keras import ops

NORM_EPSILON = 1e-7  # Lasagne's `total_norm_constraint` default


class ClippedAdam(keras.optimizers.Adam):
    """Adam whose gradients are scaled to a global norm of at most `global_norm`, then clipped to +-`value`."""

    def __init__(self, learning_rate=1e-3, global_norm=None, value=None, **kwargs):
        for name, setting in (("global_norm", global_norm), ("value", value)):
            if setting is not None and not (isinstance(setting, (int, float)) and setting > 0):
                raise ValueError(f"`{name}` must be a positive number or None. Received: {name}={setting!r}")
        super().__init__(learning_rate, **kwargs)
        self.global_norm, self.value = global_norm, value

    def _clip_gradients(self, grads):
        grads = super()._clip_gradients(grads)  # Keras' own clipping, if any was also asked for
        if self.global_norm is not None:
            norm = ops.sqrt(sum(ops.sum(ops.square(g)) for g in grads if g is not None))
            scale = ops.minimum(norm, self.global_norm) / (norm + NORM_EPSILON)
            grads = [None if g is None else g * ops.cast(scale, g.dtype) for g in grads]
        if self.value is not None:
            grads = [None if g is None else ops.clip(g, -self.value, self.value) for g in grads]
        return grads

    def get_config(self):
        return {**super().get_config(), "global_norm": self.global_norm, "value": self.value}
