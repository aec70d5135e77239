"""The `ladderae` command: train, evaluate and draw layer-matched (V)AEs from the shell.

    ladderae train --encoder 512 256 --latent-dim 32 --stop-gradient local --epochs 10 --output runs/local
    ladderae train --data images.npy --conv 32 64 --encoder 128 --latent-dim 8 --output runs/mine
    ladderae train --data table.csv --encoder 64 32 --latent-dim 8 --tensorboard runs/tb --output runs/table
    ladderae evaluate runs/local/model.keras --k 5000
    ladderae graph --encoder 512 256 --pairing every --pairing-option k=2 --tied --output graph.png
    ladderae train --plugin examples/custom_pairing_rule.py --pairing wide_only --pairing-option min_units=200

`--data` takes MNIST (the default), a .npy/.npz array, an idx folder or a CSV
table (see `ladderae.data`). The choices of `--pairing`, `--pair-kind`,
`--consistency-loss`, `--stop-gradient` and `--likelihood` are the registered
names, read after every
`--plugin` module (a .py file or an importable module) has been imported, so
the rules, kinds, losses, modes and likelihoods it registers are accepted.

Every argument of `ladderae.LadderAE` has a flag, with four limits that only
Python lifts: per-pair settings are one value for all pairs (lists per pair and
explicit pair lists are Python-only), a custom pair kind's own settings are
Python-only, `beta` is a number with an optional
linear warm-up (`--warmup-epochs`; other schedules are Python-only), and a
likelihood is a registered name (a likelihood object is Python-only: register
it by name in a --plugin module). `ladderae COMMAND --help` lists the flags.
Every error is one line with exit status 2 and no traceback, naming the flag
at fault wherever the error is about one.
"""

import argparse
import hashlib
import importlib
import importlib.util
import json
import math
import pathlib
import re
import sys

from ladderae import console

__all__ = ["main", "build_parser"]

from ladderae.cli.commands import _FLAGS, _PROBE_ROWS, CommandError, _bench, _evaluate, _graph, _train

class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the message and where to find help, no usage block."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ------------------------------------------------------------ value types


def _checked_number(convert, test, what):
    """An argparse type: `convert` the text, then insist on `test`; the error says `what` was expected."""

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        if not test(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    return parse


_positive_int = _checked_number(int, lambda v: v >= 1, "a positive integer")
_seed = _checked_number(int, lambda v: 0 <= v < 2**32, "an integer in [0, 2**32)")
_positive = _checked_number(float, lambda v: math.isfinite(v) and v > 0, "a finite number > 0")
_non_negative = _checked_number(float, lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0")
_fraction = _checked_number(float, lambda v: 0 <= v < 1, "a fraction in [0, 1)")


def _pairing_option(text):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. depths=[1,2]), got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


# ---------------------------------------------------------------- plugins


def _import_plugin(spec):
    """Import a plugin given as a .py path or a module name (once per process), so its registrations run."""
    path = pathlib.Path(spec)
    try:
        if path.suffix == ".py" or path.is_file():
            if not path.is_file():
                raise FileNotFoundError(f"no such file: {path}")
            resolved = path.resolve()
            name = f"ladderae_plugin_{resolved.stem}_{hashlib.sha1(str(resolved).encode()).hexdigest()[:8]}"
            if name not in sys.modules:
                module_spec = importlib.util.spec_from_file_location(name, resolved)
                module = importlib.util.module_from_spec(module_spec)
                sys.modules[name] = module
                try:
                    module_spec.loader.exec_module(module)
                except BaseException:
                    del sys.modules[name]
                    raise
        else:
            importlib.import_module(spec)
    except Exception as err:  # any failure of a user's module is reported as a failure of --plugin
        raise CommandError("--plugin", f"{spec} could not be imported: {type(err).__name__}: {err}") from err


def _load_plugins(argv):
    """Import every --plugin of `argv` before the real parser reads the registries for its choices."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--plugin", action="append", default=[])
    known, _ = pre.parse_known_args(argv)
    for spec in known.plugin:
        _import_plugin(spec)


# ------------------------------------------------------------- arguments


def _add_model_arguments(parser):
    from ladderae import pair_kinds
    from ladderae.nn import likelihoods
    from ladderae.nn import losses
    from ladderae.nn import objective
    from ladderae.graph import pairing
    from ladderae.nn import stop_gradient

    group = parser.add_argument_group("model")
    group.add_argument("--encoder", type=_positive_int, nargs="*", default=[512, 256], metavar="UNITS",
                       help="widths of the dense encoder layers e1..eL; the decoder mirrors them (default: 512 256)")
    group.add_argument("--latent-dim", type=_positive_int, nargs="+", default=[32], metavar="UNITS",
                       help="bottleneck width (default: 32), or a hierarchy with --pair-kind stochastic (or "
                       "bottom_up): one width per pair from the input side, the top last (e.g. 64 32 16 8 4)")
    group.add_argument("--conv", type=_positive_int, nargs="*", default=[], metavar="FILTERS",
                       help="filters of Conv2D encoder layers before the dense ones, e.g. 32 64 (images only)")
    group.add_argument("--kernel-size", type=_positive_int, nargs="+", default=[3], metavar="K",
                       help="conv kernel size: one for every conv layer or one per layer (default: 3)")
    group.add_argument("--strides", type=_positive_int, nargs="+", default=[2], metavar="S",
                       help="conv strides: one for every conv layer or one per layer (default: 2)")
    group.add_argument("--deterministic", action="store_true", help="plain autoencoder instead of a VAE")
    group.add_argument("--pairing", default="mirror", choices=pairing.pairing_rules.names,
                       help="pairing rule (default: mirror)")
    group.add_argument("--pairing-option", type=_pairing_option, action="append", default=[], metavar="KEY=VALUE",
                       help="option of the pairing rule, JSON value: --pairing depths --pairing-option depths=[2]")
    group.add_argument("--pair-kind", default="consistency", choices=pair_kinds.pair_kinds.names,
                       help="what each pair computes (default: consistency, a loss between e_i and d_i)")
    group.add_argument("--consistency-weight", type=_non_negative, default=1.0,
                       help="weight of each pair's loss (default: 1)")
    group.add_argument("--consistency-loss", default="mse", choices=losses.pair_losses.names,
                       help="pair loss (default: mse)")
    group.add_argument("--stop-gradient", default="none", choices=stop_gradient.modes.names,
                       help="where each pair's gradient may go (default: none)")
    group.add_argument("--tied", action="store_true", help="decoder layers reuse the transposed encoder kernels")
    group.add_argument("--likelihood", default="auto", choices=["auto", *likelihoods.likelihoods.names],
                       help="p(x|z); auto: bernoulli for data in [0, 1], else gaussian_unit; tables choose per column")
    group.add_argument("--beta", type=_non_negative, default=1.0, help="weight of the KL term (default: 1)")
    group.add_argument("--warmup-epochs", type=_non_negative, default=0.0,
                       help="raise beta linearly from 0 over this many epochs (default: 0, no warm-up)")
    group.add_argument("--free-bits", type=_non_negative, default=0.0, help="minimum KL per latent dimension, nats")
    group.add_argument("--objective", default="elbo", choices=objective.OBJECTIVES,
                       help="elbo (default) or iwae, the importance-weighted bound with --k samples")
    group.add_argument("--k", type=_positive_int, default=1, help="posterior samples per example of --objective iwae")
    group.add_argument("--activation", default="relu", help="hidden activation (default: relu)")
    group.add_argument("--batch-norm", action="store_true",
                       help="batch-normalise every hidden dense layer (the Ladder VAE trains with it)")
    group.add_argument("--plugin", action="append", default=[], metavar="PATH_OR_MODULE",
                       help="import this .py file or module first, so the names it registers are accepted (repeatable)")


def _add_data_arguments(group):
    group.add_argument("--data", default="mnist", metavar="PATH",
                       help="mnist (default), a .npy/.npz array, an idx folder or a .csv table")
    group.add_argument("--test-data", default=None, metavar="PATH",
                       help="a separate test set of the same kind (default: the data's own test part, else a split)")
    group.add_argument("--data-dir", default=None, help="folder with the MNIST files (or a root holding mnist/)")
    group.add_argument("--test-split", type=_fraction, default=0.1,
                       help="share of rows held out for the test when the data have no test part (default: 0.1)")
    group.add_argument("--test-size", type=_positive_int, default=None, help="use the first N test rows (default: all)")
    group.add_argument("--binarize", action=argparse.BooleanOptionalAction, default=None,
                       help="binarise values in [0, 1] (training afresh each epoch, test once); default: MNIST only")
    group.add_argument("--seed", type=_seed, default=0,
                       help="seed of weights, noise, splits and binarisation (default: 0)")


def build_parser():
    """The full parser; its choices are the registries' names at the time it is built."""
    parser = _Parser(prog="ladderae", description="Layer-matched deep (variational) autoencoders.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    train = commands.add_parser(
        "train",
        help="train a model on MNIST or your own data and report test metrics",
        description="Train a LadderAE on --data (MNIST by default, dynamically binarised, scored on the fixed "
        "binarised test set), with a validation split, and save model.keras, metrics.json and pictures into "
        "--output. MNIST is read from --data-dir, else $LADDERAE_DATA/mnist, else Keras' cache or download.",
    )
    _add_model_arguments(train)
    run = train.add_argument_group("training")
    run.add_argument("--epochs", type=_positive_int, default=10, help="(default: 10)")
    run.add_argument("--batch-size", type=_positive_int, default=128, help="(default: 128)")
    run.add_argument("--learning-rate", type=_positive, default=1e-3, help="Adam learning rate (default: 1e-3)")
    run.add_argument("--train-size", type=_positive_int, default=None,
                     help="use the first N training rows, validation rows included (default: all)")
    run.add_argument("--validation-split", type=_fraction, default=0.1,
                     help="share of the training rows held out for validation (default: 0.1)")
    run.add_argument("--input-shape", type=_positive_int, nargs="+", default=None, metavar="DIM",
                     help="reshape every example to this shape, e.g. 28 28 1 for flat digits into a --conv model")
    _add_data_arguments(run)
    run.add_argument("--output", default="runs/latest", help="output folder (default: runs/latest)")
    run.add_argument("--tensorboard", default=None, metavar="DIR",
                     help="write every loss term per epoch and pictures every --image-every epochs for TensorBoard")
    run.add_argument("--image-every", type=_positive_int, default=5, help="epochs between TensorBoard pictures")
    run.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2], help="Keras fit verbosity (default: 1)")
    train.set_defaults(handler=_train)

    score = commands.add_parser(
        "evaluate",
        help="score a saved model: ELBO, IWAE bound, active units, probes, pair residuals",
        description="Load a saved model and score it on the test rows of --data: the negative ELBO and its parts, "
        "the IWAE estimate of -log p(x) with K samples, active units, linear-probe and kNN accuracy of the latent "
        "means where there are labels, and each pair's residual. Writes evaluation.json and pictures. --data, "
        "--test-data, --seed, --test-split and --binarize default to the training run's (from the metrics.json "
        "that `ladderae train` wrote beside the model), so the rows it held out are the rows scored.",
    )
    score.add_argument("model", help="a .keras file written by `ladderae train` or model.save")
    score.add_argument("--k", type=_positive_int, default=None,
                       help="importance samples per example of the IWAE bound (default: 5000; variational models)")
    score.add_argument("--iwae-images", type=_positive_int, default=None,
                       help="IWAE on the first N test examples only (default: all; k=5000 on 10,000 takes minutes)")
    score.add_argument("--train-size", type=_positive_int, default=None,
                       help=f"training rows for the probes (default: up to {_PROBE_ROWS})")
    _add_data_arguments(score)
    score.set_defaults(data=None, seed=None, test_split=None)  # the training run's, see _evaluate
    score.add_argument("--plugin", action="append", default=[], metavar="PATH_OR_MODULE",
                       help="import this .py file or module first (the model's own rules, losses, likelihoods)")
    score.add_argument("--output", default=None, help="output folder (default: the model's folder)")
    score.set_defaults(handler=_evaluate)

    draw = commands.add_parser(
        "graph",
        help="draw the pairing graph of a model spec, without training",
        description="Build the graph a set of model options gives and draw it: encoder and decoder layers, "
        "flow edges, pair edges labelled with weight and stop-gradient mode, tied pairs marked.",
    )
    _add_model_arguments(draw)
    draw.add_argument("--input-shape", type=_positive_int, nargs="+", default=None, metavar="DIM",
                      help="shape of one example (default: MNIST's, 28 28 1)")
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


# ---------------------------------------------------------------- helpers
def _one_line(error):
    return " ".join(str(error).split())


def _flag_named_in(message):
    """The flag of the first argument `message` names as code (`kernel_size`, depths=, pairing_options), or None.

    Plain words are not read as names: "the test set" is not about --test-data.
    """
    names = re.finditer(r"`(\w+)|\b(\w+)=|\b(\w+_\w+)\b", message)
    flags = (_FLAGS.get(next(group for group in match.groups() if group)) for match in names)
    return next((flag for flag in flags if flag), None)


def _run(argv):
    command = argv[0] if argv else None
    prog = f"ladderae {command}" if command in ("train", "evaluate", "graph") else "ladderae"
    if command != "bench":
        try:
            _load_plugins(argv)
        except CommandError as err:
            sys.stderr.write(f"{prog}: error: argument {err.flag}: {_one_line(err)}\n")
            return 2
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command == "bench":
        args.arguments = unknown  # every option belongs to the benchmark script
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if getattr(args, "seed", None) is not None:
        import keras

        keras.utils.set_random_seed(args.seed)
    from ladderae.data.mnist import DataNotFoundError

    try:
        return args.handler(args)
    except CommandError as err:
        sys.stderr.write(f"{prog}: error: argument {err.flag}: {_one_line(err)}\n")
    except (ValueError, DataNotFoundError) as err:  # ladderae's errors name the argument and the fix
        flag = _flag_named_in(str(err))
        sys.stderr.write(f"{prog}: error: {f'argument {flag}: ' if flag else ''}{_one_line(err)}\n")
    return 2


def main(argv=None):
    """Run the command line `argv` (default: sys.argv[1:]): 0 on success, else SystemExit with status 2."""
    argv = sys.argv[1:] if argv is None else list(argv)
    with console.tensorflow_logs_filtered():
        code = _run(argv)
    if code:
        sys.exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
