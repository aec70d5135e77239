"""What `LadderAE` needs to train correctly under `tf.distribute` (data-parallel replicas).

Users need only a strategy scope: build and compile the model inside
``strategy.scope()`` and call ``fit`` as usual. Two things in the model must
know about replicas, and this module gives them that:

- Keras' TensorFlow trainer sums the replicas' gradients and expects
  ``compute_loss`` to return each replica's mean loss divided by the number of
  replicas (it multiplies the value back for its ``loss`` metric);
  `scale_loss` does that division.
- Every replica runs the same program with a copy of the same noise state, so
  a plain `keras.random.SeedGenerator` hands every replica the same seed and
  each slice of the global batch gets the same ``eps``: correlated noise, half
  the samples. `ReplicaSeedGenerator` folds the replica id into the seed.

And `reducible_metrics` works around a Keras 3 bug that stops ``fit`` under a
multi-worker `MultiWorkerMirroredStrategy` at its first step.

On JAX, `keras.distribution.DataParallel` runs one program on the sharded
global batch, so there is nothing to scale, fold or work around: all three
are no-ops there, as they are outside a strategy.
"""

import keras
from keras import ops

__all__ = ["num_replicas", "scale_loss", "reducible_metrics", "ReplicaSeedGenerator"]


def _tensorflow():
    """The tensorflow module where it is Keras' backend, else None: tf.distribute only applies there."""
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    return tf


def num_replicas():
    """How many replicas run the current training step in sync (1 without a tf.distribute strategy)."""
    tf = _tensorflow()
    return tf.distribute.get_strategy().num_replicas_in_sync if tf else 1


def scale_loss(loss):
    """This replica's share of the global loss: ``loss / num_replicas()``, what Keras' TF trainer expects.

    Exact for equal per-replica batches; with an uneven split (a global batch
    not divisible by the number of replicas) each replica's mean counts equally,
    as it does for Keras' own losses.
    """
    replicas = num_replicas()
    return loss if replicas == 1 else loss * ops.cast(1.0 / replicas, loss.dtype)


def reducible_metrics(logs):
    """A training or test step's metric results in a form Keras can reduce across workers.

    Keras 3 reduces each step's results under a multi-worker
    `tf.distribute.MultiWorkerMirroredStrategy` with
    ``strategy.reduce("MEAN", value, axis=0)``, which fails on scalars
    (tensorflow/tensorflow#72388). Inside such a replica the scalars become
    shape ``(1,)`` and that reduction returns their mean over the replicas, as
    Keras does under `MirroredStrategy`; everywhere else `logs` is unchanged.
    """
    tf = _tensorflow()
    if tf is None:
        return logs
    strategy = tf.distribute.get_strategy()
    multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and (
        strategy.extended._in_multi_worker_mode()  # Keras' own test for taking that path
    )
    if not multi_worker or tf.distribute.in_cross_replica_context():
        return logs
    return {name: ops.reshape(value, (1,)) for name, value in logs.items()}


class ReplicaSeedGenerator(keras.random.SeedGenerator):
    """A `keras.random.SeedGenerator` whose seeds differ between the replicas of a tf.distribute step.

    Outside a replica context with several replicas (no strategy, cross-replica
    code, JAX) it returns exactly the seeds of `keras.random.SeedGenerator`, so
    single-device training and saved noise states are unchanged. The state
    itself advances identically on every replica, so the copies stay equal.
    """

    def next(self, ordered=True):
        seed = super().next(ordered=ordered)
        tf = _tensorflow()
        context = tf and tf.distribute.get_replica_context()  # None in cross-replica context
        if context is None or context.num_replicas_in_sync == 1:
            return seed
        replica = tf.cast(context.replica_id_in_sync_group, seed.dtype)
        return tf.random.experimental.stateless_fold_in(seed, replica)


class SavedNoiseState:
    """Model mixin: `self.seed_generator`'s state saved and loaded with the weights.

    Keras saves no SeedGenerator of a Model's own, so without this a reloaded
    model, or a run resumed by BackupAndRestore, would draw other noise than an
    uninterrupted one.
    """

    _NOISE_STATE = "seed_generator_state"

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store[self._NOISE_STATE] = self.seed_generator.state

    def load_own_variables(self, store):
        super().load_own_variables({key: store[key] for key in store.keys() if key != self._NOISE_STATE})
        self.seed_generator.state.assign(store[self._NOISE_STATE])
