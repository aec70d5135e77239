"""The `ladderae` command: train, evaluate and draw layer-matched (V)AEs from the shell.

    ladderae train --encoder 512 256 --latent-dim 32 --stop-gradient local --epochs 10 --output runs/local
    ladderae evaluate runs/local/model.keras --k 5000
    ladderae graph --encoder 512 256 --pairing every --pairing-option k=2 --tied --output graph.png

Every model option of `ladderae.LadderAE` has a flag; `ladderae COMMAND --help`
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


def _print_table(title, numbers):
    print(title)
    for name, value in numbers.items():
        print(f"  {name:>22s}  {value:10.4f}" if isinstance(value, float) else f"  {name:>22s}  {value!s:>10s}")


def _pictures(model, history, x_test, y_test, out):
    """The standard figures of a trained model, as PNGs in `out`."""
    from ladderae import plots

    plots.reconstructions(model, x_test, path=out / "reconstructions.png")
    plots.samples(model, path=out / "samples.png")
    plots.pairing_graph(model, path=out / "pairing_graph.png")
    if history:
        plots.history(history, path=out / "history.png")
    if model.latent_dim == 2:
        plots.latent_manifold(model, path=out / "latent_manifold.png")
    if model.latent_dim >= 2:
        plots.latent_scatter(model, x_test, y_test, path=out / "latent_scatter.png")


def _train(args):
    import keras

    from ladderae.training import mnist_splits, train_on_mnist

    splits = mnist_splits(args.data_dir, args.train_size, args.test_size)
    kwargs = _model_kwargs(args, steps_per_epoch=-(-len(splits[0][0]) // args.batch_size))
    model, result = train_on_mnist(
        kwargs,
        splits,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        verbose=args.verbose,
    )
    out = pathlib.Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    result["command"] = " ".join(sys.argv)
    result["keras_version"] = keras.__version__
    (out / "metrics.json").write_text(json.dumps(result, indent=2))
    (x_test, y_test) = splits[1]
    _pictures(model, result["history"], x_test, y_test, out)

    print(f"\nbackend {result['backend']}, {result['parameters']:,} trainable parameters, "
          f"{result['train_size']} training / {result['test_size']} test digits, {args.epochs} epochs")
    print(f"median epoch {sorted(result['epoch_seconds'])[len(result['epoch_seconds']) // 2]:.1f} s")
    _print_table("test metrics (nats per example):", result["test"])
    print(f"saved model.keras, metrics.json and pictures in {out}")
    return 0


def _evaluate(args):
    import keras

    from ladderae import evaluate
    from ladderae.training import mnist_splits

    model = keras.saving.load_model(args.model)
    (x_train, y_train), (x_test, y_test) = mnist_splits(args.data_dir, args.train_size, args.test_size)
    numbers = evaluate.report(model, x_test, y_test, x_train, y_train, k=args.k, iwae_images=args.iwae_images,
                              seed=args.seed, verbose=1)
    out = pathlib.Path(args.output) if args.output else pathlib.Path(args.model).parent
    out.mkdir(parents=True, exist_ok=True)
    numbers.update(model=str(args.model), train_size=len(x_train), test_size=len(x_test),
                   backend=keras.backend.backend(), command=" ".join(sys.argv))
    (out / "evaluation.json").write_text(json.dumps(numbers, indent=2))
    _pictures(model, None, x_test, y_test, out)
    _print_table(f"{args.model} on {len(x_test)} binarised test digits (nats per example):", numbers)
    return 0


def _graph(args):
    from ladderae import plots
    from ladderae.model import LadderAE

    model = LadderAE(784, **_model_kwargs(args, steps_per_epoch=1))
    plots.pairing_graph(model, path=args.output)
    for e, d, data in sorted(model.graph.edges(data=True)):
        if data["kind"] == "pair":
            print(f"{e} ~ {d}: weight {data['weight']}, loss {data['loss']}, stop_gradient {data['stop_gradient']}, "
                  f"tied {data['tied']}")
    print(f"{len(model.pairs)} pairs; drawn to {args.output}")
    return 0


def _bench(args):
    script = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "mnist_vs_vae.py"
    if not script.exists():
        raise ValueError(f"`ladderae bench` runs {script.name} from a source checkout of ladderae "
                         "(benchmarks/ is not installed): clone the repository and pip install -e it.")
    sys.path.insert(0, str(script.parent))
    import mnist_vs_vae

    return mnist_vs_vae.main(args.arguments)


def _add_data_arguments(group):
    group.add_argument("--data-dir", default=None, help="folder with the MNIST files (or a root holding mnist/)")
    group.add_argument("--test-size", type=int, default=None, help="use the first N test digits (default: all)")
    group.add_argument("--seed", type=int, default=0, help="seed of weights, noise and binarisation (default: 0)")


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
    _add_data_arguments(run)
    run.add_argument("--output", default="runs/latest", help="output folder (default: runs/latest)")
    run.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2], help="Keras fit verbosity (default: 1)")
    train.set_defaults(handler=_train)

    score = commands.add_parser(
        "evaluate",
        help="score a saved model: ELBO, IWAE bound, active units, probes, pair residuals",
        description="Load a saved model and compute, on the fixed binarised MNIST test set: the negative ELBO "
        "and its parts, the IWAE estimate of -log p(x) with K samples, active units, linear-probe and kNN "
        "accuracy of the latent means, and each pair's residual. Writes evaluation.json and pictures.",
    )
    score.add_argument("model", help="a .keras file written by `ladderae train` or model.save")
    score.add_argument("--k", type=int, default=5000, help="importance samples per image (default: 5000)")
    score.add_argument("--iwae-images", type=int, default=None,
                       help="IWAE on the first N test images only (default: all; k=5000 on 10,000 takes minutes)")
    score.add_argument("--train-size", type=int, default=10000,
                       help="training digits for the probes (default: 10000)")
    _add_data_arguments(score)
    score.add_argument("--output", default=None, help="output folder (default: the model's folder)")
    score.set_defaults(handler=_evaluate)

    draw = commands.add_parser(
        "graph",
        help="draw the pairing graph of a model spec, without training",
        description="Build the graph a set of model options gives and draw it: encoder and decoder layers, "
        "flow edges, pair edges labelled with weight and stop-gradient mode, tied pairs marked.",
    )
    _add_model_arguments(draw)
    draw.add_argument("--output", default="pairing_graph.png", help="PNG to write (default: pairing_graph.png)")
    draw.set_defaults(handler=_graph)

    bench = commands.add_parser(
        "bench",
        help="the MNIST benchmark against a plain Keras VAE (benchmarks/mnist_vs_vae.py)",
        description="Forwards every argument to benchmarks/mnist_vs_vae.py; `ladderae bench --help` shows its options.",
        add_help=False,
    )
    bench.set_defaults(handler=_bench)
    return parser


def main(argv=None):
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command == "bench":
        args.arguments = unknown  # every option belongs to the benchmark script
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
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
