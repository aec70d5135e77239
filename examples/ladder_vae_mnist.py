"""A Ladder VAE (5 latent layers) on binarised MNIST, beside one latent with about its parameters, and its pictures.

Run: KERAS_BACKEND=jax python examples/ladder_vae_mnist.py --data-dir ../shared/data --epochs 10 --out runs/lvae

Sønderby et al.'s MNIST net declared as lists: deterministic 512-256-128-64-32 with batch normalisation, a latent at
every depth (64, 32, 16, 8 and the top 4), each posterior the precision-weighted merge of the encoder's bottom-up
estimate and the decoder's top-down prior, the KL weight warmed up from 0 to 1 over the first 2 epochs. The other
variant is one latent (784-616-308, latent 32: about the LVAE's 1.38 M parameters). Both train on digits binarised
afresh each epoch (batch 128, Adam 1e-3) and are scored alike.

It saves, in --out, ``<variant>_samples.png`` (decoded prior samples, drawn top down for the LVAE),
``<variant>_reconstructions.png``, ``<variant>_history.png`` (every loss term per epoch: each layer's ``kl_<latent>``
for the LVAE), ``lvae_prior_layers.png`` (generated digits, a row per latent layer redrawn from its prior under a
fixed draw of the layers above: the top changes the digit, a low layer its strokes, if the hierarchy is used),
``lvae_layers.png`` (one test digit, a row per latent layer drawn from its posterior) and ``results.json``: test
-ELBO, the IWAE bound (--k importance samples over every latent layer) and active units per layer. The benchmark (``benchmarks/mnist_vs_vae.py --protocol
hierarchical``) runs this comparison with 3 seeds and k=5000 on every test digit.
"""

import argparse
import json
import pathlib

import keras

import ladderae
from ladderae import evaluate_hierarchy, hierarchy_plots, pipeline, plots
from ladderae.cli.training import mnist_splits

VARIANTS = {
    "lvae": dict(encoder=[512, 256, 128, 64, 32], latent_dim=[64, 32, 16, 8, 4], pair_kind="stochastic",
                 batch_norm=True),
    "one_latent": dict(encoder=[616, 308], latent_dim=32, pairing="none"),
}
WARMUP_EPOCHS = 2


def train_variant(variant, splits, *, epochs, out, k=100, seed=0, batch_size=128, verbose=2):
    """Train one variant on the training digits, draw it and score it on the (binarised) test digits."""
    (x_train, _), (x_test, _) = splits
    keras.utils.set_random_seed(seed)
    data = pipeline.DynamicBinarization(x_train, batch_size, seed=seed)
    warmup = {"beta": ladderae.LinearWarmup(WARMUP_EPOCHS * len(data))} if variant == "lvae" else {}
    model = ladderae.LadderAE(784, **VARIANTS[variant], **warmup, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(data, epochs=epochs, verbose=verbose, shuffle=False, callbacks=[pipeline.EpochSync(data)])
    plots.samples(model, n=64, seed=seed, path=out / f"{variant}_samples.png", image_shape=(28, 28))
    plots.reconstructions(model, x_test, n=12, path=out / f"{variant}_reconstructions.png", image_shape=(28, 28))
    plots.history(history, path=out / f"{variant}_history.png")
    if variant == "lvae":
        hierarchy_plots.prior_variation(model, n=8, seed=seed, path=out / "lvae_prior_layers.png",
                                        image_shape=(28, 28))
        hierarchy_plots.layer_variation(model, x_test, n=8, seed=seed, path=out / "lvae_layers.png",
                                        image_shape=(28, 28))
    scores = evaluate_hierarchy.elbo(model, x_test, seed=seed)
    scores["iwae_nll"] = float(evaluate_hierarchy.iwae_nll(model, x_test, k=k, seed=seed, verbose=0).mean())
    scores["active_units"] = evaluate_hierarchy.active_units(model, x_test)
    return scores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="folder with the MNIST files (default: $LADDERAE_DATA)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--k", type=int, default=100, help="importance samples of the IWAE bound")
    parser.add_argument("--out", default="runs/lvae", help="folder for the pictures and results.json")
    parser.add_argument("--train-size", type=int, default=None, help="first n training digits (default: all)")
    parser.add_argument("--test-size", type=int, default=1000, help="first n test digits")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    splits = mnist_splits(args.data_dir, args.train_size, args.test_size)
    results = {variant: train_variant(variant, splits, epochs=args.epochs, out=out, k=args.k, seed=args.seed)
               for variant in VARIANTS}
    (out / "results.json").write_text(json.dumps({"settings": vars(args), "test": results}, indent=1))
    for variant, scores in results.items():
        print(f"{variant}: test -ELBO {scores['neg_elbo']:.2f}, IWAE bound (k={args.k}) {scores['iwae_nll']:.2f} "
              f"nats, active units {scores['active_units']}")
    return results


if __name__ == "__main__":
    main()
