"""ladderae.checks: each rule accepts what it should and names the argument when it refuses."""

import numpy as np
import pytest

from ladderae import checks


@pytest.mark.parametrize("value, expected", [(True, True), (False, False), (np.bool_(True), True), (np.bool_(False), False)])
def test_check_bool_accepts_python_and_numpy_booleans(value, expected):
    result = checks.check_bool("tied_weights", value)
    assert result is expected


@pytest.mark.parametrize("value", ["no", "False", 1, 0, None, 1.0, np.int64(1), [True]])
def test_check_bool_refuses_everything_else_by_name(value):
    with pytest.raises(ValueError, match=r"`variational` must be True or False.*Received: variational="):
        checks.check_bool("variational", value)


@pytest.mark.parametrize("value", [1, 7, np.int64(3), np.uint8(2)])
def test_check_positive_int_takes_python_and_numpy_integers_as_an_int(value):
    result = checks.check_positive_int("n", value)
    assert type(result) is int and result == int(value)


@pytest.mark.parametrize("value", [0, -1, 2.0, "3", None, True, np.bool_(True)])
def test_check_positive_int_refuses_everything_else_by_name(value):
    with pytest.raises(ValueError, match=r"`n` must be a positive integer.*Received: n="):
        checks.check_positive_int("n", value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0, "0.5", True])
def test_check_non_negative_refuses_nan_inf_negative_and_non_numbers(value):
    with pytest.raises(ValueError, match=r"`free_bits` must be a finite non-negative number"):
        checks.check_non_negative("free_bits", value)


def test_check_all_finite_names_the_count_and_first_bad_entry():
    x = np.zeros((3, 4), np.float32)
    assert checks.check_all_finite("x", x) is x
    x[1, 2], x[2, 0] = np.nan, np.inf
    with pytest.raises(ValueError, match=r"`x` holds 2 NaN or infinite value\(s\), the first at index \(1, 2\)"):
        checks.check_all_finite("x", x)
