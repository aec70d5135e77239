"""`GraphModel`: what every model built from a ladderae graph shares, so that each family holds only its own part.

- the frozen graph (`graph`, `pairs`) and the walk over its layers
  (`network`, with `node_layers` and `pair_layers` tracked by Keras);
- the sampling noise: a seed generator whose state is saved with the weights
  (`SavedNoiseState`) and differs between tf.distribute replicas, drawn by
  `_noise` into a pass's `WalkContext`;
- a step counter that the schedules read inside the compiled step;
- one `keras.metrics.Mean` per reported term (`term_names`), fed by
  `compute_loss` from the family's `step_terms`, and each replica's share of
  the loss under tf.distribute;
- Keras' loops with the family's data checks first (`check_data`: a call
  refused inside a JAX step would cost the trained weights), `TerminateOnNaN`,
  and an exact resume after a kill: data that draw each epoch from (seed,
  epoch) follow the optimizer's step (`pipeline.EpochSync`), arrays given with
  ``shuffle=True`` to a seeded model included (`pipeline.ShuffledArrays`);
- the config round trip (``_arguments``, what `get_config` returns).
"""

import warnings

import keras
import numpy as np
from keras import ops

from ladderae.data import pipeline
from ladderae.data.inputs import keyed_to_steps, stop_on_nan
from ladderae.models.distribute import ReplicaSeedGenerator, SavedNoiseState, reducible_metrics, scale_loss
from ladderae.nn import schedules

__all__ = ["GraphModel"]


class GraphModel(SavedNoiseState, keras.Model):
    """Base of the graph-built models. A family calls `_set_up` and `build` in its constructor and implements
    `term_names`, `step_terms`, `term_weight` and `check_data`."""

    def _set_up(self, graph, network, seed, arguments):
        """After ``keras.Model.__init__``: the graph and its walk, the noise, the step counter and the trackers."""
        self._graph = graph
        self.network = network
        self.node_layers = network.layers
        self.pair_layers = network.pair_layers
        self.seed = seed
        self.seed_generator = ReplicaSeedGenerator(seed)  # each tf.distribute replica draws its own noise
        self.step_counter = self.add_weight(shape=(), dtype="int32", initializer="zeros", trainable=False,
                                            name="step_counter")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.term_names}
        self._arguments = arguments

    @property
    def graph(self):
        """The architecture (frozen): nodes are layers; ``kind="flow"``, ``"pair"`` and ``"tie"`` edges."""
        return self._graph

    @property
    def pairs(self):
        """The matched (encoder, decoder) node pairs of every pair kind, from the input side."""
        return [(e, d) for e, d, _ in self.network.pairs]

    def build(self, input_shape):
        """Build the network's layers (the family builds what else it owns after this)."""
        self.network.build()
        self.built = True

    def _noise(self, shape):
        """Standard-normal noise of `shape` from the model's seed generator."""
        return keras.random.normal(shape, seed=self.seed_generator)

    # ---------------------------------------------------- the family's part

    @property
    def term_names(self):
        """The terms reported as metrics (besides Keras' own ``loss``)."""
        raise NotImplementedError

    def step_terms(self, x, y, y_pred, step, training):
        """Every term of one step by name, ``loss`` (what training minimises) included."""
        raise NotImplementedError

    def term_weight(self, name, terms, x, y_pred):
        """The weight of term `name` of this step in its epoch mean (e.g. the rows it was computed on)."""
        raise NotImplementedError

    def check_data(self, method, x, y=None, sample_weight=None, validation_data=None):
        """Refuse what `method` (``fit``, ``evaluate``, ``predict``) cannot take, naming the argument and the fix;
        return ``(x, y)`` as Keras' loop gets them."""
        raise NotImplementedError

    # ------------------------------------------------------- Keras' step

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if sample_weight is not None:
            raise ValueError(f"{self.name} does not weight examples: call fit without sample_weight.")
        step = schedules.current_step(self.step_counter, training)
        terms = self.step_terms(x, y, y_pred, step, training)
        for name, tracker in self.trackers.items():
            if name in terms:
                tracker.update_state(terms[name], sample_weight=self.term_weight(name, terms, x, y_pred))
        # Under tf.distribute Keras sums the replicas' gradients: return this replica's share of the mean.
        return scale_loss(terms["loss"])

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        # Keras 3 cannot reduce scalar step metrics across workers: see ladderae.models.distribute.
        return reducible_metrics(super().compute_metrics(x, y, y_pred, sample_weight=sample_weight))

    # ------------------------------------------------- Keras' loops, checked

    def fit(self, x=None, y=None, **kwargs):
        """Keras' `fit` after `check_data`, with `TerminateOnNaN` among the callbacks and an exact resume.

        A non-finite loss stops training instead of running every remaining
        epoch on NaN weights. Data that draw each epoch from (seed, epoch) (a
        `pipeline.DynamicBinarization`) get `pipeline.EpochSync` and
        ``shuffle=False`` unless told otherwise; arrays with ``shuffle=True``
        (Keras' default) on a model with a `seed` are batched by a
        `pipeline.ShuffledArrays` seeded with it, so that a run resumed by
        `keras.callbacks.BackupAndRestore` sees the batches an uninterrupted
        one would (Keras' own shuffle draws from a state no backup restores).
        """
        x, y = self.check_data("fit", x, y, kwargs.get("sample_weight"), kwargs.get("validation_data"))
        kwargs["callbacks"] = stop_on_nan(kwargs.get("callbacks"))
        if self._shuffles_itself(x, y, kwargs):
            batch_size = kwargs.pop("batch_size", None)  # Keras' default where none is given; 0 is refused, not 32
            x, y = pipeline.ShuffledArrays(x, y, 32 if batch_size is None else batch_size, seed=self.seed), None
            kwargs["shuffle"] = False
        if hasattr(x, "set_epoch"):  # draws each epoch from (seed, epoch): keyed to the step count, resumes exactly
            kwargs["callbacks"] = keyed_to_steps(x, kwargs["callbacks"])
            kwargs.setdefault("shuffle", False)  # it shuffles itself; Keras' shuffle is not in any backup
        return super().fit(x, y, **kwargs)

    def _shuffles_itself(self, x, y, kwargs):
        """Whether `fit` batches arrays itself: a seeded model, arrays, Keras' shuffle on, no validation split."""
        arrays = all(isinstance(a, np.ndarray) for a in (x if isinstance(x, tuple) else (x,)))
        return (self.seed is not None and arrays and kwargs.get("shuffle", True) is True
                and not kwargs.get("validation_split") and kwargs.get("sample_weight") is None
                and kwargs.get("steps_per_epoch") is None)

    def evaluate(self, x=None, y=None, **kwargs):
        x, y = self.check_data("evaluate", x, y, kwargs.get("sample_weight"))
        return super().evaluate(x, y, **kwargs)

    def predict(self, x, **kwargs):
        x, _ = self.check_data("predict", x)
        return super().predict(x, **kwargs)

    # ---------------------------------------------------------------- config

    def save_own_variables(self, store):
        """The weights and (through SavedNoiseState) the noise state; warns when a weight is NaN or infinite.

        A diverged run's model predicts NaN; the file is still written so that it can be inspected.
        """
        bad = [v.path for v in self.weights if not np.all(np.isfinite(ops.convert_to_numpy(v)))]
        if bad:
            warnings.warn(
                f"Saving {self.name} with non-finite weights in {', '.join(bad[:5])}"
                f"{' and more' if len(bad) > 5 else ''}: training diverged, and this model predicts NaN. "
                "Retrain with a lower learning rate (or restore a checkpoint from before the divergence).",
                stacklevel=2,
            )
        super().save_own_variables(store)  # SavedNoiseState adds the noise state

    def get_config(self):
        return {**super().get_config(), **self._arguments}
