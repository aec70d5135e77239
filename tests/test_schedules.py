"""Schedules against their closed forms, and their configs."""

import keras
import numpy as np
import pytest
from keras import ops

from ladderae import schedules
from ladderae.nn.schedules import Constant, Cyclical, LinearWarmup

STEPS = np.arange(0, 40)


def values(schedule):
    return np.array([float(ops.convert_to_numpy(schedule(t))) for t in STEPS])


def test_constant():
    np.testing.assert_allclose(values(Constant(0.3)), 0.3, rtol=1e-6)


def test_linear_warmup_closed_form():
    expected = 0.1 + 0.8 * np.clip((STEPS - 5) / 10, 0, 1)
    np.testing.assert_allclose(values(LinearWarmup(10, start=0.1, end=0.9, delay=5)), expected, rtol=1e-6)


def test_cyclical_closed_form():
    expected = np.minimum((STEPS % 8) / 4, 1.0)
    expected[STEPS >= 24] = 1.0  # after 3 cycles it stays at `end`
    np.testing.assert_allclose(values(Cyclical(8, ratio=0.5, cycles=3)), expected, rtol=1e-6)


@pytest.mark.parametrize("schedule", [Constant(0.5), LinearWarmup(7, delay=2), Cyclical(10, ratio=0.25, cycles=2)])
def test_config_round_trip(schedule):
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert restored == schedule and restored is not schedule
    np.testing.assert_allclose(values(restored), values(schedule))


def test_get_resolves_numbers_schedules_configs_and_none():
    assert schedules.get(2) == Constant(2.0)
    assert schedules.get(None).is_zero
    warm = LinearWarmup(3)
    assert schedules.get(warm) is warm
    assert schedules.get(schedules.serialize(warm)) == warm


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: schedules.get(-1.0, "beta"), "beta.*non-negative"),
        (lambda: schedules.get("fast", "beta"), "beta.*Schedule"),
        (lambda: LinearWarmup(0), "steps"),
        (lambda: Cyclical(10, ratio=0), "ratio"),
    ],
)
def test_bad_arguments_name_themselves(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# Every float parameter of every schedule class, and schedules.get, refuse NaN and inf by name.
FLOAT_PARAMETERS = [
    (Constant, {}, "value"),
    (LinearWarmup, {"steps": 10}, "start"),
    (LinearWarmup, {"steps": 10}, "end"),
    (Cyclical, {"period": 10}, "start"),
    (Cyclical, {"period": 10}, "end"),
    (Cyclical, {"period": 10}, "ratio"),
]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("cls, required, name", FLOAT_PARAMETERS, ids=[f"{c.__name__}.{n}" for c, _, n in FLOAT_PARAMETERS])
def test_non_finite_schedule_parameters_are_refused_by_name(cls, required, name, bad):
    with pytest.raises(ValueError, match=rf"`{name}`.*Received: {name}=-?(nan|inf)"):
        cls(**required, **{name: bad})


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), np.float32("nan")], ids=["nan", "inf", "np.nan"])
def test_get_refuses_non_finite_numbers_naming_the_argument(bad):
    with pytest.raises(ValueError, match=r"`beta` must be a finite non-negative number"):
        schedules.get(bad, "beta")


def test_numpy_numbers_are_accepted_as_plain_floats():
    assert schedules.get(np.float32(0.5)) == Constant(0.5)
    assert LinearWarmup(10, end=np.float64(2.0)).get_config()["end"] == 2.0
