"""Names of what a walk with a clean pass writes: the clean activations and the rows the denoising costs read.

A `LadderNetwork` runs its encoder twice, clean and corrupted; the clean
pass's activation of node ``n`` is kept under ``clean(n)``, and a training
pass that knows which rows are unlabelled says so under ``COST_ROWS`` (one 0/1
per row; absent: every row counts).
"""

__all__ = ["COST_ROWS", "clean"]

COST_ROWS = "cost_rows"


def clean(key):
    """Where a model that runs a clean pass keeps that pass's activation `key`."""
    return f"clean/{key}"
