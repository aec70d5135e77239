"""`LadderAE`'s constructor arguments that are checked and resolved before the graph is built."""

from ladderae import checks
from ladderae.nn import objective
from ladderae.graph import build as graph_lib

__all__ = ["input_shape", "objective_choice", "listed"]


def input_shape(input_dim, input_shape):
    if (input_dim is None) == (input_shape is None):
        raise ValueError(
            "Give exactly one of `input_dim` (e.g. 784) or `input_shape` (e.g. (28, 28)). "
            f"Received: input_dim={input_dim!r}, input_shape={input_shape!r}"
        )
    if input_dim is not None:
        return (checks.check_positive_int("input_dim", input_dim),)
    return tuple(graph_lib._check_sizes("input_shape", input_shape))


def objective_choice(name, k, variational, free_bits):
    """The checked (objective, k) pair: ``iwae`` needs a variational model and no free bits."""
    if name not in objective.OBJECTIVES:
        raise ValueError(f"`objective` must be one of {', '.join(objective.OBJECTIVES)}. Received: objective={name!r}")
    k = checks.check_positive_int("k", k)
    if name == "elbo" and k != 1:
        raise ValueError(f"`k` counts the samples of objective='iwae'; the ELBO uses one. Received: k={k}")
    if name == "iwae" and not variational:
        raise ValueError("objective='iwae' needs a variational model: build it with variational=True.")
    if name == "iwae" and free_bits:
        raise ValueError(
            "free_bits applies to the ELBO's KL term, which the iwae objective does not have: use free_bits=0 "
            "(or beta warm-up, which the iwae objective anneals)."
        )
    return name, k


def listed(value):
    """A tuple argument as a JSON-friendly list (nested for per-layer pairs); scalars as they are."""
    return [listed(v) for v in value] if isinstance(value, (list, tuple)) else value
