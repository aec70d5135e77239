"""`WalkContext`: what one pass through a model's layers needs besides its input, handed over explicitly.

The model makes one per pass and gives it to the walk, to each node's layer
and to every pair kind (`PairKind.merge`, `PairKind.forward`); nothing is set
on the network or on a kind for the duration of a call.

- ``training``: layers that behave differently in training (batch
  normalisation) use batch statistics; None lets Keras' call context decide.
- ``noise``: shape -> standard-normal noise from the model's seed generator,
  or None: a deterministic pass, each latent at its mean.
- ``given``: noise the caller drew, by latent name (``{"z": ..., "z1": ...}``);
  it wins over ``noise`` (a hierarchy scored on NumPy noise).
- ``labelled``: one 0/1 per row, the rows a Ladder network normalises apart
  from the others (None: every row alike).
- ``corrupted``: the Ladder network's corrupted pass, where each node adds
  its noise (False: its clean pass, and every pass of the other models).

A Ladder network's training pass also names what it writes: the clean pass's
activation of node ``n`` under ``clean(n)`` and, when it knows which rows are
unlabelled, the rows its denoising costs average over under ``COST_ROWS``.
"""

import dataclasses
from typing import Any, Callable, Optional

__all__ = ["WalkContext", "COST_ROWS", "clean"]

COST_ROWS = "cost_rows"


def clean(key):
    """Where a model that runs a clean pass keeps that pass's activation `key`."""
    return f"clean/{key}"


@dataclasses.dataclass(frozen=True)
class WalkContext:
    """One pass's settings (see the module docstring); immutable: `replace` makes the context of a sub-pass."""

    training: Optional[bool] = None
    noise: Optional[Callable] = None
    given: Optional[dict] = None
    labelled: Any = None
    corrupted: bool = False

    def sample(self, name, shape):
        """Standard-normal noise of `shape` for latent `name`: the given one, else drawn, else None (the mean)."""
        if self.given is not None and name in self.given:
            return self.given[name]
        return None if self.noise is None else self.noise(shape)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)
