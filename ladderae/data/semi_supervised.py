"""Semi-supervised data for `ladderae.LadderNetwork`: label checks, balanced label draws, mixed batches.

Unlabelled rows carry the label ``UNLABELLED`` (-1). `balanced_labels` draws
the paper's labelled set (the same number of examples per class) and
`SemiSupervisedBatches` feeds each step a batch of unlabelled digits plus a
batch of labelled ones, cycling through the small labelled set, as the
reference code does.
"""

import math

import keras
import numpy as np

from ladderae.checks import check_non_negative_int, check_positive_int

__all__ = ["UNLABELLED", "PARTS", "check_labels", "balanced_labels", "SemiSupervisedBatches", "WithLabels"]

UNLABELLED = -1
PARTS = ("labelled", "unlabelled")  # the keys of a batch given in parts


def check_labels(y, n_classes, n_rows, *, name="y", unlabelled=True):
    """`y` as int32 labels in [0, n_classes) (or -1 where `unlabelled`), one per row, at least one per class."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != n_rows:
        raise ValueError(f"`{name}` must hold one label per row of x ({n_rows} rows). Received: {name} with shape "
                         f"{y.shape}.")
    if not (np.issubdtype(y.dtype, np.integer) or (np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)))):
        raise ValueError(f"`{name}` must hold integer class labels. Received dtype {y.dtype}.")
    y = y.astype("int32")
    low = UNLABELLED if unlabelled else 0
    bad = y[(y < low) | (y >= n_classes)]
    if bad.size:
        marker = f", or {UNLABELLED} for an unlabelled row" if unlabelled else ""
        raise ValueError(f"`{name}` has labels outside [0, n_classes={n_classes}){marker}: e.g. {bad[:5].tolist()}.")
    n_labelled = int(np.sum(y >= 0))
    if unlabelled and n_labelled < n_classes:
        raise ValueError(f"`{name}` has {n_labelled} labelled rows, fewer than the {n_classes} classes: label at least "
                         "one example per class (the paper uses 10 per class for 100 labels).")
    return y


def balanced_labels(y, n_labels, n_classes=10, seed=0):
    """Indices of `n_labels` rows of `y`, the same number per class, drawn with `seed` (sorted)."""
    n_labels = check_positive_int("n_labels", n_labels)
    if n_labels < n_classes or n_labels % n_classes:
        raise ValueError(f"`n_labels` must be a multiple of n_classes={n_classes} (as many labels per class), at "
                         f"least {n_classes}. Received: n_labels={n_labels}")
    y = check_labels(y, n_classes, len(y), unlabelled=False)
    rng = np.random.default_rng(seed)
    per_class = n_labels // n_classes
    picked = []
    for c in range(n_classes):
        rows = np.flatnonzero(y == c)
        if len(rows) < per_class:
            raise ValueError(f"Class {c} has {len(rows)} rows, fewer than the {per_class} per class that "
                             f"n_labels={n_labels} asks for.")
        picked.append(rng.choice(rows, per_class, replace=False))
    return np.sort(np.concatenate(picked))


class SemiSupervisedBatches(keras.utils.PyDataset):
    """Batches of `batch_size` unlabelled rows (label -1) after `labelled_batch_size` labelled ones.

    An epoch is one pass over the unlabelled rows; the labelled rows repeat
    as often as needed, reshuffled at every pass. Pass it to
    ``LadderNetwork.fit`` as x, with no y. Epoch e's orders are drawn from
    ``(seed, e)`` alone: with `ladderae.pipeline.EpochSync` (which sets e to
    the optimizer step) a run resumed by ``BackupAndRestore`` redraws the
    epoch it lost.
    """

    def __init__(self, x_labelled, y_labelled, x_unlabelled, *, n_classes=10, batch_size=100,
                 labelled_batch_size=None, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.x_labelled = np.asarray(x_labelled, dtype="float32")
        self.y_labelled = check_labels(y_labelled, n_classes, len(self.x_labelled), name="y_labelled",
                                       unlabelled=False)
        if len(np.unique(self.y_labelled)) < n_classes:
            raise ValueError(f"`y_labelled` must label at least one example of each of the {n_classes} classes. "
                             f"Received {len(self.y_labelled)} labels of {len(np.unique(self.y_labelled))} classes.")
        self.x_unlabelled = np.asarray(x_unlabelled, dtype="float32")
        if self.x_unlabelled.shape[1:] != self.x_labelled.shape[1:] or not len(self.x_unlabelled):
            raise ValueError(f"`x_unlabelled` must hold rows shaped like x_labelled's {self.x_labelled.shape[1:]}. "
                             f"Received shape {self.x_unlabelled.shape}.")
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.labelled_batch_size = check_positive_int(
            "labelled_batch_size", min(batch_size, len(self.x_labelled)) if labelled_batch_size is None
            else labelled_batch_size)
        self.seed = check_non_negative_int("seed", seed)
        self.set_epoch(0)

    def __len__(self):
        return math.ceil(len(self.x_unlabelled) / self.batch_size)

    def set_epoch(self, epoch):
        """Draw epoch `epoch`'s orders of the unlabelled and labelled rows (what `EpochSync` calls)."""
        self.epoch = check_non_negative_int("epoch", epoch)
        rng = np.random.default_rng([self.seed, self.epoch])
        self.unlabelled_order = rng.permutation(len(self.x_unlabelled))
        passes = math.ceil(len(self) * self.labelled_batch_size / len(self.x_labelled))
        self.labelled_order = np.concatenate([rng.permutation(len(self.x_labelled)) for _ in range(passes)])

    def on_epoch_end(self):
        self.set_epoch(self.epoch + 1)

    def part_sizes(self):
        """The fewest labelled and the fewest unlabelled rows that a batch holds (the last may hold fewer)."""
        last = len(self.x_unlabelled) - (len(self) - 1) * self.batch_size
        return self.labelled_batch_size, min(self.batch_size, last)

    def __getitem__(self, index):
        unlabelled = self.unlabelled_order[index * self.batch_size : (index + 1) * self.batch_size]
        labelled = self.labelled_order[index * self.labelled_batch_size : (index + 1) * self.labelled_batch_size]
        x = np.concatenate([self.x_labelled[labelled], self.x_unlabelled[unlabelled]])
        y = np.concatenate([self.y_labelled[labelled], np.full(len(unlabelled), UNLABELLED, dtype="int32")])
        return x, y


class WithLabels(keras.utils.PyDataset):
    """`data`'s (x, y) batches as ((x, y), y): what `LadderNetwork.fit` trains on, so that its training pass knows
    which rows are labelled. With `parts` (a `SemiSupervisedBatches`: its labelled rows first), as
    ``({"labelled": x_l, "unlabelled": x_u}, y_l)`` instead: a data-parallel split cuts each part, and its labels
    with it. Epoch hooks and worker settings are `data`'s."""

    def __init__(self, data, parts=False):
        super().__init__(workers=data.workers, use_multiprocessing=data.use_multiprocessing,
                         max_queue_size=data.max_queue_size)
        self.data, self.parts = data, parts

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        batch = self.data[index]
        if not isinstance(batch, tuple) or len(batch) != 2:
            raise ValueError("A LadderNetwork trains on batches (x, y), y = -1 on unlabelled rows. Received a batch "
                             f"of {len(batch) if isinstance(batch, tuple) else type(batch).__name__} parts.")
        if self.parts:
            (x, y), labelled = batch, self.data.labelled_batch_size
            return dict(zip(PARTS, (x[:labelled], x[labelled:]))), y[:labelled]
        return batch, batch[1]

    def on_epoch_begin(self):
        self.data.on_epoch_begin()

    def on_epoch_end(self):
        self.data.on_epoch_end()
