"""`--model ladder-network`: the labels a run trains on, its fit and test error, and its pictures.

Labels come from the data (MNIST's, a .npz's ``y``, an idx folder's), from
`--labels` (a .npy, one per row of --data) or from a table's `--label-column`;
-1 marks an unlabelled row. `--labelled N` keeps a balanced, seeded draw of N
of the training rows' labels. With unlabelled rows the model trains on
`SemiSupervisedBatches` (every training row unlabelled, the labelled ones
cycled beside them, as the paper and benchmarks/mnist_ladder.py do), else on
(x, y). After every epoch the batch-norm statistics are recomputed over the
training rows and the test error is logged as ``test_error``, as the benchmark
scores; test rows without a label are not scored.
"""

import keras
import numpy as np

from ladderae.cli.spec import LADDER, CommandError, model_kwargs
from ladderae.cli.training import EpochTimer, trainable_parameters
from ladderae.data import semi_supervised

__all__ = ["fit", "label_flag", "pictures", "read_labels", "scored_rows", "training_labels"]

DENOISED_ROWS = 100  # test rows of the denoised-against-clean picture: a training-sized batch


def read_labels(path):
    """The labels a --labels file holds: a 1-D integer .npy."""
    try:
        y = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise CommandError("--labels", f"{path} is not a readable .npy array ({err}).") from err
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise CommandError("--labels", f"{path} holds {y.dtype} values of shape {y.shape}: give a 1-D array of "
                           "integer labels, one per row of --data (-1: unlabelled).")
    return y


def label_flag(args, data):
    """The flag the labels came from (an error about them names it)."""
    if args.labels:
        return "--labels"
    return "--label-column" if args.label_column or data.kind == "table" else "--data"


def _integers(y, flag):
    y = np.asarray(y)
    if y.dtype.kind not in "iu" and not (y.dtype.kind == "f" and np.all(y == np.round(y))):
        raise CommandError(flag, f"the labels must be integer classes (-1: unlabelled); these are {y.dtype} values, "
                           f"e.g. {y[:3].tolist()}.")
    return y.astype("int64")


def training_labels(args, data):
    """``(y, n_classes, counts)``: the training rows' labels after the `--labelled` draw (-1: unlabelled)."""
    flag = label_flag(args, data)
    if data.y_train is None:
        fix = "name its label column with --label-column" if data.kind == "table" else \
            "give them with --labels PATH (a .npy of integer labels, -1: unlabelled)"
        raise CommandError("--label-column" if data.kind == "table" else "--labels",
                           f"{data.name} has no labels, and a ladder network needs some: {fix}.")
    splits = [_integers(y, flag) for y in (data.y_train, data.y_validation, data.y_test) if y is not None]
    n_classes = args.n_classes or max(int(y.max(initial=0)) for y in splits) + 1
    if n_classes < 2:
        raise CommandError(flag, "the labels hold one class (0): a classifier needs at least two.")
    given = f" With --n-classes {args.n_classes}: raise it, or leave it out." if args.n_classes else ""
    try:
        y = semi_supervised.check_labels(splits[0], n_classes, len(splits[0]), name="labels")
    except ValueError as err:
        raise CommandError(flag, f"{err}{given}") from err
    for other in splits[1:]:
        bad = other[(other < semi_supervised.UNLABELLED) | (other >= n_classes)]
        if bad.size:
            raise CommandError(flag, f"the held-out rows have labels outside [0, {n_classes}), or -1 for an "
                               f"unlabelled row: e.g. {bad[:5].tolist()}.{given}")
    labelled = np.flatnonzero(y >= 0)
    if args.labelled is not None:
        n = args.labelled
        if n > len(labelled) or n < n_classes:
            raise CommandError("--labelled", f"asks for {n} labels, but it must be at least the {n_classes} classes "
                               f"and at most the {len(labelled)} labelled training rows.")
        try:
            kept = labelled[semi_supervised.balanced_labels(y[labelled], n, n_classes, seed=args.seed)]
        except ValueError as err:
            raise CommandError("--labelled", str(err)) from err
        y = np.where(np.isin(np.arange(len(y)), kept), y, semi_supervised.UNLABELLED)
    counts = {"labelled": int(np.sum(y >= 0)), "unlabelled": int(np.sum(y < 0)),
              "per_class": np.bincount(y[y >= 0], minlength=n_classes).tolist()}
    return y, n_classes, counts


def scored_rows(args, data, x, y, n_classes, what="test"):
    """The rows of `x` with a label (-1: left out), and their labels; an error when none is left."""
    flag = label_flag(args, data)
    if y is None or not np.any(np.asarray(y) >= 0):
        raise CommandError(flag, f"none of the {len(x)} {what} rows has a label, so there is no {what} error to "
                           "give: label some of them.")
    y = _integers(y, flag)
    bad = y[y >= n_classes]
    if bad.size:
        raise CommandError(flag, f"the {what} rows have labels outside the model's [0, {n_classes}): e.g. "
                           f"{bad[:5].tolist()}.")
    return x[y >= 0], y[y >= 0]


class _TestError(keras.callbacks.Callback):
    """After every epoch: the batch-norm statistics recomputed over the training rows, then the error on the
    labelled test rows, logged as ``test_error``."""

    def __init__(self, x_train, x_test, y_test):
        super().__init__()
        self.x_train, self.x_test, self.y_test = x_train, x_test, y_test

    def on_epoch_end(self, epoch, logs=None):
        self.model.recompute_statistics(self.x_train, batch_size=1000)
        predicted = self.model.predict(self.x_test, batch_size=1000, verbose=0).argmax(axis=1)
        logs["test_error"] = float(np.mean(predicted != self.y_test))


def fit(args, data, y, n_classes, x_test, y_test, callbacks=()):
    """Build the LadderNetwork of `args` for `data`, fit it on the training rows labelled `y`, score the labelled
    test rows unless the loss became non-finite (``result["diverged"]``): ``(model, result)``."""
    from ladderae.models.ladder_network import LadderNetwork

    width = int(np.prod(data.example_shape))
    model = LadderNetwork(width, **model_kwargs(LADDER, args, n_classes=n_classes, seed=args.seed))
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    x, labelled = data.x_train, y >= 0
    if labelled.all():
        train = {"x": x, "y": y, "batch_size": args.batch_size}
    else:
        try:
            train = {"x": semi_supervised.SemiSupervisedBatches(x[labelled], y[labelled], x, n_classes=n_classes,
                                                                batch_size=args.batch_size, seed=args.seed)}
        except ValueError as err:
            raise CommandError(label_flag(args, data), str(err)) from err
    validation = None
    if data.y_validation is not None and np.any(data.y_validation >= 0):
        validation = scored_rows(args, data, data.x_validation, data.y_validation, n_classes, "validation")
    timer = EpochTimer()  # first: an epoch's time leaves out the scoring after it
    history = model.fit(**train, epochs=args.epochs, verbose=args.verbose, validation_data=validation,
                        callbacks=[timer, _TestError(x, x_test, y_test), *callbacks])
    history = {key: [float(v) for v in values] for key, values in history.history.items()}
    losses = history.get("loss", [])
    diverged = not losses or not np.all(np.isfinite(losses))
    test = {} if diverged else model.evaluate(x_test, y_test, batch_size=1000, verbose=0, return_dict=True)
    return model, {
        "test_error": float(test["error"]) if test else None, "test": {k: float(v) for k, v in test.items()},
        "diverged": diverged, "history": history,
        "epoch_seconds": timer.seconds, "train_size": len(x), "validation_size": len(data.x_validation),
        "test_size": len(x_test), "epochs": args.epochs, "batch_size": args.batch_size,
        "learning_rate": args.learning_rate, "backend": keras.backend.backend(),
        "parameters": trainable_parameters(model),
    }


def pictures(model, test_errors, x_test, out):
    """The pairing graph, the test error per epoch (when there is one) and denoised against clean activations
    (when the model has lateral pairs), as PNGs in `out`."""
    from ladderae.plots import figures
    from ladderae.plots import ladder as ladder_plots

    figures.pairing_graph(model, path=out / "pairing_graph.png")
    if test_errors:
        ladder_plots.error_curves({"ladder network": [test_errors]}, path=out / "error_curve.png",
                                  title="test error after each epoch (batch-norm statistics of the training rows)")
    if any(kind.denoises for kind in model.network.kinds):
        ladder_plots.denoised_activations(model, x_test[:DENOISED_ROWS], path=out / "denoised.png")
