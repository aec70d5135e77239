"""Argument checks shared by the modules that validate what users pass: one place for each rule.

Each ``check_*`` returns the value (normalised) or raises a ValueError that
names the argument; `is_positive_int`, `is_number` and `as_pair` are the
predicates behind them, for callers that phrase their own message.
"""

import math
import numbers

import numpy as np

__all__ = [
    "is_positive_int",
    "is_number",
    "check_positive_int",
    "check_non_negative_int",
    "check_non_negative",
    "require_variational",
    "check_all_finite",
    "check_bool",
    "check_rows",
    "as_pair",
]


def is_positive_int(value):
    """True for an int >= 1 (not a bool)."""
    return not isinstance(value, bool) and isinstance(value, int) and value >= 1


def is_number(value):
    """True for a real number, Python or NumPy, that is not a boolean."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_positive_int(name, value):
    """`value` as an int, or a ValueError naming `name` if it is not an integer >= 1 (Python or NumPy, not a bool)."""
    if not isinstance(value, numbers.Integral) or isinstance(value, (bool, np.bool_)) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    return int(value)


def check_non_negative_int(name, value):
    """`value` as an int, or a ValueError naming `name` if it is not an integer >= 0 (Python or NumPy, not a bool)."""
    if not isinstance(value, numbers.Integral) or isinstance(value, (bool, np.bool_)) or value < 0:
        raise ValueError(f"`{name}` must be a non-negative integer. Received: {name}={value!r}")
    return int(value)


def check_non_negative(name, value):
    """`value` as a float, or a ValueError naming `name` if it is not a finite number >= 0 (NaN and inf refused)."""
    if not is_number(value) or not math.isfinite(value) or value < 0:
        raise ValueError(f"`{name}` must be a finite non-negative number. Received: {name}={value!r}")
    return float(value)


def check_all_finite(name, array):
    """`array` unchanged, or a ValueError naming `name`, the count of NaN/inf entries and the first one's index.

    One NaN in the training data turns every weight to NaN at the first step
    that reads it, so data are checked before training rather than after.
    """
    bad = ~np.isfinite(np.asarray(array, dtype=np.float64))
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"`{name}` holds {int(bad.sum())} NaN or infinite value(s), the first at index {first}. "
            f"Drop or impute them before training."
        )
    return array


def check_bool(name, value):
    """`value` as a Python bool, or a ValueError naming `name` for anything but True/False.

    Python and NumPy booleans pass; strings such as "no", ints and None are
    refused rather than read by truthiness ("no" would mean True).
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"`{name}` must be True or False. Received: {name}={value!r}")
    return bool(value)


def check_rows(name, x):
    """`x` as an array with at least one row, or a ValueError naming `name`: an average over no examples means nothing."""
    x = np.asarray(x)
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"`{name}` has no examples: pass at least one row. Received: {name} with shape {x.shape}.")
    return x


def require_variational(model, what):
    """A ValueError unless `model` has a posterior (any model without a ``variational`` flag is taken to have one):
    `what` (a method or a score) reads it."""
    if not getattr(model, "variational", True):
        raise ValueError(f"{what} needs a variational model; this one was built with variational=False (build it "
                         "with variational=True).")


def as_pair(value):
    """A (height, width) tuple from a positive int (used for both) or a pair of them; None for anything else."""
    if is_positive_int(value):
        return (value, value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(is_positive_int(v) for v in value):
        return tuple(value)
    return None
