"""The Ladder network with 100 labels on MNIST, beside the same network trained on the labels alone.

Run: KERAS_BACKEND=jax python examples/ladder_mnist.py --data-dir ../shared/data --epochs 10 --out runs/ladder

Rasmus et al.'s permutation-invariant MNIST setting, shortened: encoder 784-1000-500-250-250-250-10, Gaussian noise
0.3 on the input and every batch-normalised layer of the corrupted pass, the paper's lambdas for 100 labels (1000 on
(x, x_hat), 10 on (e1, d1), 0.1 above), Adam 2e-3 held for the first two thirds of the epochs and decayed linearly
to 0 over the last third, each step 100 unlabelled digits (from all 60,000) plus 100 labelled ones (a balanced draw
of 10 per class). Two variants see the same labelled digits, batches and noise:

- ladder: every pair lateral, the ``gauss`` combinator (``LadderNetwork`` defaults);
- supervised: no decoder (``pairing=None``): the same noisy encoder on the labelled digits alone.

It saves, in --out, ``test_error.png`` (test error per epoch of both, with the running batch-norm statistics),
``denoised.png`` (the ladder's denoised against clean activations), ``graph.png`` (where the noise and the lateral
pairs go) and ``results.json`` with each variant's final test error on the --test-size test digits, its batch-norm
statistics recomputed over the training digits first (as the benchmark scores). The paper reaches 1.06 % at 150
epochs; ``benchmarks/mnist_ladder.py`` runs its full protocol with several label draws.
"""

import argparse
import json
import pathlib

import keras
import numpy as np

import ladderae
from ladderae import datasets, ladder_plots, pipeline, plots

ENCODER = [1000, 500, 250, 250, 250]


def variant_kwargs(variant, encoder):
    """LadderNetwork arguments of a variant; the lambdas run (x, x_hat), (e1, d1), ..., (z, z_hat)."""
    return {"ladder": {"denoising_weight": [1000, 10] + [0.1] * len(encoder)}, "supervised": {"pairing": None}}[variant]


def decayed_rate(epochs, rate=2e-3):
    """Adam's rate per epoch: `rate` for the first two thirds of the epochs, then linearly to 0 (the paper's)."""
    hold = int(epochs * 2 / 3)
    return lambda epoch: rate * min(1.0, (epochs - epoch) / max(epochs - hold, 1))


def train_variant(variant, data, x_train, x_test, y_test, *, epochs, encoder=ENCODER, seed=0, verbose=2):
    """Train one variant; its per-epoch test errors (running statistics) and the final one (recomputed)."""
    keras.utils.set_random_seed(seed)
    model = ladderae.LadderNetwork(784, encoder=encoder, noise_std=0.3, seed=seed, **variant_kwargs(variant, encoder))
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    errors = []

    def test_error():
        return float(np.mean(model.predict(x_test, batch_size=1000, verbose=0).argmax(1) != y_test))

    model.fit(data, epochs=epochs, verbose=verbose, shuffle=False, callbacks=[
        keras.callbacks.LearningRateScheduler(decayed_rate(epochs)),
        keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: errors.append(test_error())),
        pipeline.EpochSync(data),  # each epoch a new batch order, keyed to the optimizer step
    ])
    model.recompute_statistics(x_train)
    return model, {"test_error_per_epoch": errors, "test_error": test_error()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="folder with the MNIST files (default: $LADDERAE_DATA)")
    parser.add_argument("--labels", type=int, default=100, help="labelled digits, a balanced draw")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--out", default="runs/ladder", help="folder for the pictures and results.json")
    parser.add_argument("--encoder", type=int, nargs="+", default=ENCODER, help="hidden widths (the paper's)")
    parser.add_argument("--train-size", type=int, default=60000, help="first n training digits, all unlabelled")
    parser.add_argument("--test-size", type=int, default=10000, help="first n test digits")
    parser.add_argument("--seed", type=int, default=0, help="of the label draw, the weights, batches and noise")
    args = parser.parse_args(argv)

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (x_train, y_train), (x_test, y_test) = datasets.load_mnist(args.data_dir)  # pixels in [0, 1]
    x_train, y_train, x_test, y_test = (x_train[: args.train_size], y_train[: args.train_size],
                                        x_test[: args.test_size], y_test[: args.test_size])
    labelled = ladderae.balanced_labels(y_train, args.labels, seed=args.seed)
    data = ladderae.SemiSupervisedBatches(x_train[labelled], y_train[labelled], x_train, batch_size=100,
                                          seed=args.seed)
    results, curves = {}, {}
    for variant in ("ladder", "supervised"):
        model, results[variant] = train_variant(variant, data, x_train, x_test, y_test, epochs=args.epochs,
                                                encoder=args.encoder, seed=args.seed)
        curves[variant] = [results[variant]["test_error_per_epoch"]]
        print(f"{variant}: test error {100 * results[variant]['test_error']:.2f} % after {args.epochs} epochs")
        if variant == "ladder":
            ladder_plots.denoised_activations(model, data[0][0], path=out / "denoised.png")
            plots.pairing_graph(model, path=out / "graph.png")
    ladder_plots.error_curves(curves, path=out / "test_error.png",
                              title=f"{args.labels} labels: test error per epoch (running batch-norm statistics)")
    (out / "results.json").write_text(json.dumps({"settings": vars(args), "test": results}, indent=1))
    return results


if __name__ == "__main__":
    main()
