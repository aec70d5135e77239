"""The `ladderae` command: train a layer-matched (V)AE on MNIST from the shell.

    ladderae train --encoder 512 256 --latent-dim 32 --stop-gradient local --epochs 10 --output runs/local

Every model option of `ladderae.LadderAE` has a flag; `ladderae train --help`
lists them. Bad arguments exit with status 2 and a message that names them.
"""

import argparse
import json
import pathlib
import sys

__all__ = ["main"]


def _pairing_option(text):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. depths=[1,2]), got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _add_model_arguments(parser):
    group = parser.add_argument_group("model")
    group.add_argument("--encoder", type=int, nargs="+", default=[512, 256], metavar="UNITS",
                       help="widths of the encoder layers e1..eL; the decoder mirrors them (default: 512 256)")
    group.add_argument("--latent-dim", type=int, default=32, help="bottleneck width (default: 32)")
    group.add_argument("--deterministic", action="store_true", help="plain autoencoder instead of a VAE")
    group.add_argument("--pairing", default="mirror",
                       help="pairing rule: mirror, none, depths, every, or a registered rule (default: mirror)")
    group.add_argument("--pairing-option", type=_pairing_option, action="append", default=[], metavar="KEY=VALUE",
                       help="option of the pairing rule, JSON value: --pairing depths --pairing-option depths=[2]")
    group.add_argument("--consistency-weight", type=float, default=1.0, help="weight of each pair's loss (default: 1)")
    group.add_argument("--consistency-loss", default="mse", choices=["mse", "normalized_mse"],
                       help="pair loss (default: mse)")
    group.add_argument("--stop-gradient", default="none", choices=["none", "encoder", "decoder", "local"],
                       help="where each pair's gradient may go (default: none)")
    group.add_argument("--tied", action="store_true", help="decoder layers reuse the transposed encoder kernels")
    group.add_argument("--likelihood", default="bernoulli", choices=["bernoulli", "gaussian", "gaussian_unit"])
    group.add_argument("--beta", type=float, default=1.0, help="weight of the KL term (default: 1)")
    group.add_argument("--warmup-epochs", type=float, default=0.0,
                       help="raise beta linearly from 0 over this many epochs (default: 0, no warm-up)")
    group.add_argument("--free-bits", type=float, default=0.0, help="minimum KL per latent dimension, nats")
    group.add_argument("--activation", default="relu", help="hidden activation (default: relu)")


def _model_kwargs(args, steps_per_epoch):
    from ladderae import schedules

    beta = args.beta
    if args.warmup_epochs > 0:
        beta = schedules.LinearWarmup(max(1, round(args.warmup_epochs * steps_per_epoch)), end=args.beta)
    return dict(
        encoder=args.encoder,
        latent_dim=args.latent_dim,
        variational=not args.deterministic,
        pairing=args.pairing,
        pairing_options=dict(args.pairing_option),
        consistency_weight=args.consistency_weight,
        consistency_loss=args.consistency_loss,
        stop_gradient=args.stop_gradient,
        tied_weights=args.tied,
        likelihood=args.likelihood,
        beta=beta,
        free_bits=args.free_bits,
        activation=args.activation,
    )


def _train(args):
    import keras

    from ladderae.training import train_on_mnist

    train_size = args.train_size or 60000
    kwargs = _model_kwargs(args, steps_per_epoch=-(-train_size // args.batch_size))
    model, result = train_on_mnist(
        kwargs,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        data_dir=args.data_dir,
        train_size=args.train_size,
        test_size=args.test_size,
        seed=args.seed,
        verbose=args.verbose,
    )
    out = pathlib.Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    result["command"] = " ".join(sys.argv)
    result["keras_version"] = keras.__version__
    (out / "metrics.json").write_text(json.dumps(result, indent=2))

    test = result["test"]
    print(f"\nbackend {result['backend']}, {result['parameters']:,} parameters, "
          f"{result['train_size']} training / {result['test_size']} test digits, {args.epochs} epochs")
    print(f"median epoch {sorted(result['epoch_seconds'])[len(result['epoch_seconds']) // 2]:.1f} s")
    print("test metrics (nats per example):")
    for name, value in test.items():
        print(f"  {name:>16s}  {value:10.4f}")
    print(f"saved {out / 'model.keras'} and {out / 'metrics.json'}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="ladderae", description="Layer-matched deep (variational) autoencoders.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train",
        help="train a model on MNIST and report test metrics",
        description="Train a LadderAE on dynamically binarised MNIST, evaluate it on the fixed binarised "
        "test set and save model.keras and metrics.json into --output. MNIST is read from --data-dir, "
        "else $LADDERAE_DATA/mnist, else Keras' cache or download.",
    )
    _add_model_arguments(train)
    run = train.add_argument_group("training")
    run.add_argument("--epochs", type=int, default=10, help="(default: 10)")
    run.add_argument("--batch-size", type=int, default=128, help="(default: 128)")
    run.add_argument("--learning-rate", type=float, default=1e-3, help="Adam learning rate (default: 1e-3)")
    run.add_argument("--train-size", type=int, default=None, help="use the first N training digits (default: all)")
    run.add_argument("--test-size", type=int, default=None, help="use the first N test digits (default: all)")
    run.add_argument("--seed", type=int, default=0, help="seed of weights, noise and binarisation (default: 0)")
    run.add_argument("--data-dir", default=None, help="folder with the MNIST files (or a root holding mnist/)")
    run.add_argument("--output", default="runs/latest", help="output folder (default: runs/latest)")
    run.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2], help="Keras fit verbosity (default: 1)")
    train.set_defaults(handler=_train)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "seed", None) is not None:
        import keras

        keras.utils.set_random_seed(args.seed)
    from ladderae.datasets import DataNotFoundError

    try:
        return args.handler(args)
    except (ValueError, DataNotFoundError) as err:  # ladderae's errors name the argument and the fix
        parser.exit(2, f"ladderae {args.command}: error: {err}\n")


if __name__ == "__main__":
    sys.exit(main())
