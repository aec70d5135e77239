"""Argument checks shared by the modules that validate what users pass: one place for each rule.

Each ``check_*`` returns the value (normalised) or raises a ValueError that
names the argument; `is_positive_int` and `as_pair` are the predicates behind
them, for callers that phrase their own message.
"""

__all__ = ["is_positive_int", "check_positive_int", "check_non_negative", "as_pair"]


def is_positive_int(value):
    """True for an int >= 1 (not a bool)."""
    return not isinstance(value, bool) and isinstance(value, int) and value >= 1


def check_positive_int(name, value):
    """`value`, or a ValueError naming `name` if it is not a positive integer."""
    if not is_positive_int(value):
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    return value


def check_non_negative(name, value):
    """`value` as a float, or a ValueError naming `name` if it is not a number >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"`{name}` must be a non-negative number. Received: {name}={value!r}")
    return float(value)


def as_pair(value):
    """A (height, width) tuple from a positive int (used for both) or a pair of them; None for anything else."""
    if is_positive_int(value):
        return (value, value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(is_positive_int(v) for v in value):
        return tuple(value)
    return None
