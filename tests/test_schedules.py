"""Schedules against their closed forms, and their configs."""

import keras
import numpy as np
import pytest
from keras import ops

from ladderae import schedules
from ladderae.schedules import Constant, Cyclical, LinearWarmup

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
