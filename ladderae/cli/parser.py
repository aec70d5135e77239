"""The `ladderae` command: train, evaluate and draw layer-matched (V)AEs and Ladder networks from the shell.

    ladderae train --encoder 512 256 --latent-dim 32 --stop-gradient local --epochs 10 --output runs/local
    ladderae train --data images.npy --conv 32 64 --encoder 128 --latent-dim 8 --output runs/mine
    ladderae train --data table.csv --encoder 64 32 --latent-dim 8 --tensorboard runs/tb --output runs/table
    ladderae evaluate runs/local/model.keras --k 5000
    ladderae graph --encoder 512 256 --pairing every --pairing-option k=2 --tied --output graph.png
    ladderae train --plugin examples/custom_pairing_rule.py --pairing wide_only --pairing-option min_units=200
    ladderae train --model ladder-network --labelled 100 --denoising-weight 1000 10 0.1 0.1 0.1 0.1 0.1 --output runs/ladder
    ladderae train --model ladder-network --data digits.npy --labels labels.npy --encoder 100 50 --output runs/mine
    ladderae train --model ladder-network --data table.csv --label-column species --encoder 32 --output runs/table
    ladderae graph --model ladder-network --encoder 100 50 --pairing top --output ladder.png

`--model` picks the family: `autoencoder` (the default: `ladderae.LadderAE`, a
`TabularLadderAE` for a CSV) or `ladder-network` (`ladderae.LadderNetwork`, a
semi-supervised classifier: labels from the data, `--labels` or
`--label-column`, -1 for an unlabelled row, and `--labelled N` of them kept in
a balanced draw). One table (`ladderae.cli.spec`) lists every model and data
flag with the families that take it and each family's default (its class's
own); a flag the family does not take is an error, not ignored. `--data` takes
MNIST (the default), a .npy/.npz array, an idx folder or a CSV table (see
`ladderae.data`). The choices of `--pairing`, `--pair-kind`,
`--consistency-loss`, `--stop-gradient`, `--likelihood` and `--combinator` are
the registered names, read after every `--plugin` module (a .py file or an
importable module) has been imported, so the names it registers are accepted.

Every argument of `ladderae.LadderAE` and `ladderae.LadderNetwork` has a flag,
with limits that only Python lifts: per-pair settings are one value for all
pairs (but a Ladder network's --denoising-weight and --noise-std take one per
pair or depth; explicit pair lists are Python-only), a custom pair kind's own
settings are Python-only, weights are numbers (`beta` with an optional linear
warm-up, `--warmup-epochs`; other schedules are Python-only), a likelihood is a
registered name (register a likelihood object by name in a --plugin module),
a Ladder network trains with a constant learning rate (the paper decays it
over the last third of the epochs: benchmarks/mnist_ladder.py), and a
--test-data set's labels are its own (--labels labels the rows of --data).
`ladderae COMMAND --help` lists the flags.
Every error is one line with exit status 2 and no traceback, naming the flag
at fault wherever the error is about one.
"""

import argparse
import hashlib
import importlib
import importlib.util
import pathlib
import re
import sys

from ladderae import console
from ladderae.cli import spec as flags
from ladderae.cli.commands import _bench, _evaluate, _graph, _train
from ladderae.cli.spec import CommandError, positive, positive_int

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the message and where to find help, no usage block."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


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


# ---------------------------------------------------------------- parser


def _add_family(parser):
    parser.add_argument("--model", default=flags.AUTOENCODER, choices=flags.FAMILIES,
                        help="the model family: autoencoder (LadderAE; a TabularLadderAE for a CSV) or ladder-network "
                        "(LadderNetwork, a semi-supervised classifier); a flag marked [... only] belongs to one "
                        "(default: autoencoder)")


def _add_plugin(parser):
    parser.add_argument("--plugin", action="append", default=[], metavar="PATH_OR_MODULE",
                        help="import this .py file or module first, so the names it registers are accepted (repeatable)")


def build_parser():
    """The full parser; its choices are the registries' names at the time it is built."""
    parser = _Parser(prog="ladderae", description="Layer-matched deep (variational) autoencoders and Ladder networks.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    train = commands.add_parser(
        "train",
        help="train a model on MNIST or your own data and report test metrics",
        description="Train a --model on --data (MNIST by default; an autoencoder dynamically binarises it and is "
        "scored on the fixed binarised test set, a ladder network reads grey levels and is scored by its test "
        "error), with a validation split, and save model.keras, metrics.json and pictures into --output. MNIST is "
        "read from --data-dir, else $LADDERAE_DATA/mnist, else Keras' cache or download.",
    )
    _add_family(train)
    flags.add_flags(train, "train")
    _add_plugin(train)
    run = train.add_argument_group("training")
    run.add_argument("--epochs", type=positive_int, default=10, help="(default: 10)")
    run.add_argument("--batch-size", type=positive_int, default=128,
                     help="(default: 128; a ladder network's batches hold as many unlabelled rows plus as many "
                     "labelled ones)")
    run.add_argument("--learning-rate", type=positive, default=1e-3, help="Adam learning rate (default: 1e-3)")
    run.add_argument("--output", default="runs/latest", help="output folder (default: runs/latest)")
    run.add_argument("--tensorboard", default=None, metavar="DIR",
                     help="write every loss term per epoch and pictures every --image-every epochs for TensorBoard")
    run.add_argument("--image-every", type=positive_int, default=5, help="epochs between TensorBoard pictures")
    run.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2], help="Keras fit verbosity (default: 1)")
    train.set_defaults(handler=_train)

    score = commands.add_parser(
        "evaluate",
        help="score a saved model: ELBO, IWAE bound, active units, probes, pair residuals; a ladder's test error",
        description="Load a saved model and score it on the test rows of --data: an autoencoder by the negative "
        "ELBO and its parts, the IWAE estimate of -log p(x) with K samples, active units, linear-probe and kNN "
        "accuracy of the latent means where there are labels, and each pair's residual; a ladder network by its "
        "test error. Writes evaluation.json and pictures. The data flags default to the training run's (from the "
        "metrics.json that `ladderae train` wrote beside the model), so the rows it held out are the rows scored.",
    )
    score.add_argument("model", help="a .keras file written by `ladderae train` or model.save")
    flags.add_flags(score, "evaluate")
    _add_plugin(score)
    score.add_argument("--output", default=None, help="output folder (default: the model's folder)")
    score.set_defaults(handler=_evaluate)

    draw = commands.add_parser(
        "graph",
        help="draw the pairing graph of a model spec, without training",
        description="Build the graph a set of model options gives and draw it: encoder and decoder layers, "
        "flow edges, pair edges labelled with weight and stop-gradient mode, tied pairs marked.",
    )
    _add_family(draw)
    flags.add_flags(draw, "graph")
    _add_plugin(draw)
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
    found = (flags.FLAG_FOR_ARGUMENT.get(next(group for group in match.groups() if group)) for match in names)
    return next((flag for flag in found if flag), None)


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
