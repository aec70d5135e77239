"""Weight schedules evaluated inside the compiled training step.

A schedule maps the training step (a tensor read from the model's own step
counter) to a float weight with `keras.ops`, so the value changes under a
compiled or XLA-jitted `fit`. This is the fix for the classic KL warm-up bug,
where a callback rebinds a Python variable the compiled graph never sees
again. Schedules weight the KL term (`beta`) and the pair consistency terms.

`get(identifier)` resolves a number, a schedule, a config dict or None, the
way Keras resolves regularizers.
"""

import keras
from keras import ops

from ladderae.checks import check_non_negative, check_non_negative_int, check_positive_int, is_number

__all__ = ["Schedule", "Constant", "LinearWarmup", "Cyclical", "get", "current_step", "describe", "serialize"]


class Schedule:
    """Base class: a function of the integer step, serializable by config."""

    def __call__(self, step):
        raise NotImplementedError

    def get_config(self):
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @property
    def is_zero(self):
        """True when the weight is zero at every step (its term can be skipped)."""
        return False

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    __hash__ = None

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@keras.saving.register_keras_serializable(package="ladderae")
class Constant(Schedule):
    """The same weight at every step."""

    def __init__(self, value=1.0):
        self.value = check_non_negative("value", value)

    def __call__(self, step):
        return ops.cast(self.value, "float32")

    @property
    def is_zero(self):
        return self.value == 0.0

    def get_config(self):
        return {"value": self.value}


@keras.saving.register_keras_serializable(package="ladderae")
class LinearWarmup(Schedule):
    """`start` until step `delay`, then linear to `end` over `steps` steps, then `end`.

    At step t the weight is ``start + (end - start) * clip((t - delay) / steps, 0, 1)``.
    """

    def __init__(self, steps, start=0.0, end=1.0, delay=0):
        self.steps = check_positive_int("steps", steps)
        self.start = check_non_negative("start", start)
        self.end = check_non_negative("end", end)
        self.delay = check_non_negative_int("delay", delay)

    def __call__(self, step):
        t = ops.cast(step, "float32") - self.delay
        frac = ops.clip(t / self.steps, 0.0, 1.0)
        return self.start + (self.end - self.start) * frac

    def get_config(self):
        return {"steps": self.steps, "start": self.start, "end": self.end, "delay": self.delay}


@keras.saving.register_keras_serializable(package="ladderae")
class Cyclical(Schedule):
    """Cyclical annealing (Fu et al., 2019): repeated linear ramps.

    Each cycle lasts `period` steps: the weight rises linearly from `start` to
    `end` over the first `ratio * period` steps and holds `end` for the rest.
    After `cycles` cycles (if given) the weight stays at `end`.
    """

    def __init__(self, period, ratio=0.5, start=0.0, end=1.0, cycles=None):
        self.period = check_positive_int("period", period)
        if not is_number(ratio) or not 0.0 < ratio <= 1.0:
            raise ValueError(f"`ratio` must be in (0, 1]. Received: ratio={ratio!r}")
        self.ratio = float(ratio)
        self.start = check_non_negative("start", start)
        self.end = check_non_negative("end", end)
        self.cycles = None if cycles is None else check_positive_int("cycles", cycles)

    def __call__(self, step):
        t = ops.cast(step, "float32")
        phase = ops.mod(t, float(self.period)) / (self.ratio * self.period)
        value = self.start + (self.end - self.start) * ops.minimum(phase, 1.0)
        if self.cycles is not None:
            value = ops.where(t >= self.cycles * self.period, self.end, value)
        return value

    def get_config(self):
        return {
            "period": self.period,
            "ratio": self.ratio,
            "start": self.start,
            "end": self.end,
            "cycles": self.cycles,
        }


def current_step(counter, training):
    """The step a batch's loss is computed at, from a model's int32 step-counter variable.

    In training the counter is incremented first and counter - 1 is used: the
    read-then-assign order is not kept on TensorFlow. Otherwise its value.
    """
    if training:
        counter.assign_add(1)
        return counter - 1
    return ops.convert_to_tensor(counter)


def describe(schedule, symbol="w"):
    """A short text for pictures: ``w=0.5`` for a constant, else ``w=LinearWarmup`` (the schedule's class)."""
    if isinstance(schedule, Constant):
        return f"{symbol}={schedule.value:g}"
    return f"{symbol}={type(schedule).__name__}"


def serialize(schedule):
    return keras.saving.serialize_keras_object(schedule)


def get(identifier, name="schedule"):
    """Resolve a number, a `Schedule`, a serialized config or None (= 0) to a `Schedule`."""
    if identifier is None:
        return Constant(0.0)
    if isinstance(identifier, Schedule):
        return identifier
    if isinstance(identifier, dict):
        obj = keras.saving.deserialize_keras_object(identifier)
        if isinstance(obj, Schedule):
            return obj
    elif is_number(identifier):
        return Constant(check_non_negative(name, identifier))
    raise ValueError(
        f"`{name}` must be a finite non-negative number or a ladderae.schedules.Schedule "
        f"(Constant, LinearWarmup, Cyclical). Received: {name}={identifier!r}"
    )
