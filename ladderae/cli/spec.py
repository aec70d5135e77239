"""The one table of the command line's model and data flags, per model family.

Each `Flag` says what it feeds (a constructor's keyword, an argument of
`ladderae.data.load`, or what the command reads itself), which families take
it with each one's default, and how argparse reads it. The parser adds the
flags from `FLAGS`, `resolve` refuses a flag its family does not take and fills
in the family's defaults, `model_kwargs` builds a constructor's keywords, and
`FLAG_FOR_ARGUMENT` (the flag an error about an argument names) is read off it.
A family's defaults are its class's own (tests/test_cli_ladder.py checks them).
"""

import argparse
import dataclasses
import json
import math
import operator

__all__ = ["AUTOENCODER", "FAMILIES", "FLAGS", "FLAG_FOR_ARGUMENT", "LADDER", "PROBE_ROWS", "CommandError", "Flag",
           "add_flags", "check", "family_of", "fill", "model_kwargs", "resolve", "settings"]

AUTOENCODER, LADDER = "autoencoder", "ladder-network"
FAMILIES = (AUTOENCODER, LADDER)
# The classes of each family (a subclass counts as its base's): the family of a loaded model.
_CLASSES = {"LadderAE": AUTOENCODER, "TabularLadderAE": AUTOENCODER, "LadderNetwork": LADDER}
PROBE_ROWS = 10000  # training rows evaluate's probes read by default


class CommandError(Exception):
    """A mistake in the command line: `flag` names it, the message says what to do."""

    def __init__(self, flag, message):
        super().__init__(message)
        self.flag = flag


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


positive_int = _checked_number(int, lambda v: v >= 1, "a positive integer")
seed_value = _checked_number(int, lambda v: 0 <= v < 2**32, "an integer in [0, 2**32)")
positive = _checked_number(float, lambda v: math.isfinite(v) and v > 0, "a finite number > 0")
non_negative = _checked_number(float, lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0")
fraction = _checked_number(float, lambda v: 0 <= v < 1, "a fraction in [0, 1)")
classes = _checked_number(int, lambda v: v >= 2, "an integer >= 2")


def _pairing_option(text):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. depths=[1,2]), got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _activation(text):
    from ladderae.nn import activations

    try:
        activations.get(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a Keras activation name such as relu or tanh, or one of "
                                         f"{', '.join(activations.activations.names)}; got {text!r}") from None
    return text


def _one_or_each(values):
    return values[0] if len(values) == 1 else list(values)


# ------------------------------------------------------------- the table


@dataclasses.dataclass(frozen=True)
class Flag:
    """A flag: `argument` is the keyword it feeds (None: the command reads it), `defaults` maps each family that
    takes it to its default, `choices` (called once the plugins are imported) gives a family's valid names,
    `convert` turns the parsed value into the keyword's, `options` are argparse's."""

    name: str
    argument: str
    defaults: dict
    help: str
    commands: tuple = ("train", "graph")
    group: str = "model"
    options: dict = dataclasses.field(default_factory=dict)
    choices: object = None
    convert: object = None

    @property
    def dest(self):
        return self.name[2:].replace("-", "_")


def _ae(default):
    return {AUTOENCODER: default}


def _ladder(default):
    return {LADDER: default}


def _both(default):
    return dict.fromkeys(FAMILIES, default)


def _names(module, attribute, first=()):
    """A `choices` function: the names of a registry (or a tuple) of `module`, read when the parser is built."""

    def names(family):
        import importlib

        found = getattr(importlib.import_module(module), attribute)
        return [*first, *getattr(found, "names", found)]

    return names


def _ladder_pair_kinds():
    """The registered kinds a Ladder network takes (those without latents), read when the parser is built."""
    import ladderae.pair_kinds  # noqa: F401  (the built-in kinds register on import)
    from ladderae.graph.kinds import ladder_pair_kinds

    return ladder_pair_kinds()


_INTS, _NUMBERS = {"type": positive_int, "metavar": "UNITS"}, {"type": non_negative, "nargs": "+", "metavar": "VALUE"}
_DATA = ("train", "evaluate")
FLAGS = (
    # ------------------------------------------------ the models' constructors
    Flag("--encoder", "encoder", {AUTOENCODER: [512, 256], LADDER: [1000, 500, 250, 250, 250]},
         "widths of the dense encoder layers e1..eL: an autoencoder's decoder mirrors them, a ladder network puts its "
         "softmax on top", options={**_INTS, "nargs": "*"}, convert=list),
    Flag("--latent-dim", "latent_dim", _ae([32]),
         "bottleneck width, or a hierarchy with --pair-kind stochastic (or bottom_up): one width per pair from the "
         "input side, the top last (e.g. 64 32 16 8 4)", options={**_INTS, "nargs": "+"}, convert=_one_or_each),
    Flag("--conv", "conv", _ae([]), "filters of Conv2D encoder layers before the dense ones, e.g. 32 64 (images only)",
         options={"type": positive_int, "nargs": "*", "metavar": "FILTERS"}, convert=list),
    Flag("--kernel-size", "kernel_size", _ae([3]), "conv kernel size: one for every conv layer or one per layer",
         options={"type": positive_int, "nargs": "+", "metavar": "K"}, convert=_one_or_each),
    Flag("--strides", "strides", _ae([2]), "conv strides: one for every conv layer or one per layer",
         options={"type": positive_int, "nargs": "+", "metavar": "S"}, convert=_one_or_each),
    Flag("--deterministic", "variational", _ae(False), "plain autoencoder instead of a VAE",
         options={"action": "store_true"}, convert=operator.not_),
    Flag("--pairing", "pairing", {AUTOENCODER: "mirror", LADDER: "all"},
         "pairing rule: a registered one for an autoencoder; all, top (the Gamma-model) or none for a ladder network",
         choices=lambda family: _names("ladderae.graph.ladder", "PAIRING_RULES")(family) if family == LADDER else
         _names("ladderae.graph.pairing", "pairing_rules")(family)),
    Flag("--pairing-option", "pairing_options", _ae(None),
         "option of the pairing rule, JSON value: --pairing depths --pairing-option depths=[2]",
         options={"type": _pairing_option, "action": "append", "metavar": "KEY=VALUE"},
         convert=lambda pairs: dict(pairs) if pairs else None),
    Flag("--pair-kind", "pair_kind", {AUTOENCODER: "consistency", LADDER: "lateral"},
         "what each pair computes: consistency (a loss between e_i and d_i), lateral (a ladder's denoising), ...",
         choices=lambda family: _ladder_pair_kinds() if family == LADDER else
         _names("ladderae.pair_kinds", "pair_kinds")(family)),
    Flag("--consistency-weight", "consistency_weight", _both(1.0), "weight of each consistency pair's loss",
         options={"type": non_negative}),
    Flag("--consistency-loss", "consistency_loss", _ae("mse"), "pair loss",
         choices=_names("ladderae.nn.losses", "pair_losses")),
    Flag("--stop-gradient", "stop_gradient", _both("none"), "where each pair's gradient may go",
         choices=_names("ladderae.nn.stop_gradient", "modes")),
    Flag("--tied", "tied_weights", _ae(False), "decoder layers reuse the transposed encoder kernels",
         options={"action": "store_true"}),
    Flag("--likelihood", "likelihood", _ae("auto"),
         "p(x|z); auto: bernoulli for data in [0, 1], else gaussian_unit; tables choose per column",
         choices=_names("ladderae.nn.likelihoods", "likelihoods", first=["auto"])),
    Flag("--beta", "beta", _ae(1.0), "weight of the KL term", options={"type": non_negative}),
    Flag("--warmup-epochs", None, _ae(0.0), "raise beta linearly from 0 over this many epochs (0: no warm-up)",
         options={"type": non_negative}),
    Flag("--free-bits", "free_bits", _ae(0.0), "minimum KL per latent dimension, nats",
         options={"type": non_negative}),
    Flag("--objective", "objective", _ae("elbo"), "elbo, or iwae: the importance-weighted bound with --k samples",
         choices=_names("ladderae.nn.objective", "OBJECTIVES")),
    Flag("--k", "k", _ae(1), "posterior samples per example of --objective iwae", options={"type": positive_int}),
    Flag("--activation", "activation", _both("relu"), "hidden activation", options={"type": _activation}),
    Flag("--batch-norm", "batch_norm", _ae(False),
         "batch-normalise every hidden dense layer (the Ladder VAE trains with it)", options={"action": "store_true"}),
    Flag("--n-classes", "n_classes", _ladder(None), "classes of the softmax (default: the largest label + 1)",
         options={"type": classes}),
    Flag("--denoising-weight", "denoising_weight", _ladder([1.0]),
         "lambda of the lateral pairs: one for all, or one per pair from the input side (the paper's at 100 labels: "
         "1000 10 0.1 0.1 0.1 0.1 0.1)", options=_NUMBERS, convert=_one_or_each),
    Flag("--noise-std", "noise_std", _ladder([0.3]),
         "std of the corrupted pass's noise: one for all, or one per depth (input, hidden layers, classifier)",
         options=_NUMBERS, convert=_one_or_each),
    Flag("--combinator", "combinator", _ladder("gauss"), "how each lateral pair merges e_i with the top-down signal",
         choices=_names("ladderae.nn.combinators", "combinators")),
    Flag("--momentum", "momentum", _ladder(0.99), "of the running batch-norm statistics", options={"type": fraction}),
    # --------------------------------- ladderae.data.load's arguments, the labels
    Flag("--data", "source", _both("mnist"), "mnist, a .npy/.npz array, an idx folder or a .csv table",
         commands=_DATA, group="data", options={"metavar": "PATH"}),
    Flag("--test-data", "test", _both(None),
         "a separate test set of the same kind (default: the data's own test part, else a split)",
         commands=_DATA, group="data", options={"metavar": "PATH"}),
    Flag("--data-dir", "data_dir", _both(None), "folder with the MNIST files (or a root holding mnist/)",
         commands=_DATA, group="data"),
    Flag("--test-split", "test_split", _both(0.1), "share of rows held out for the test when the data have no test part",
         commands=_DATA, group="data", options={"type": fraction}),
    Flag("--test-size", "test_size", _both(None), "use the first N test rows (default: all)",
         commands=_DATA, group="data", options={"type": positive_int}),
    Flag("--binarize", "binarize", _ae(None),
         "binarise values in [0, 1] (training afresh each epoch, test once); default: MNIST only",
         commands=_DATA, group="data", options={"action": argparse.BooleanOptionalAction}),
    Flag("--seed", "seed", _both(0), "seed of weights, noise, splits, label draws and binarisation",
         commands=_DATA, group="data", options={"type": seed_value}),
    Flag("--labels", "labels", _ladder(None),
         "a .npy of integer labels, one per row of --data (-1: unlabelled); default: the data's own",
         commands=_DATA, group="data", options={"metavar": "PATH"}),
    Flag("--label-column", "label_column", _ladder(None),
         "the column of a CSV table that holds the labels; the other columns are the features",
         commands=_DATA, group="data", options={"metavar": "NAME"}),
    Flag("--labelled", "n_labels", _ladder(None),
         "keep N labels of the training rows, as many per class, drawn with --seed (default: every labelled row)",
         commands=("train",), group="data", options={"type": positive_int, "metavar": "N"}),
    Flag("--train-size", "train_size", _both(None),
         "use the first N training rows, validation rows included (default: all)",
         commands=("train",), group="data", options={"type": positive_int}),
    Flag("--validation-split", "validation_split", _both(0.1), "share of the training rows held out for validation",
         commands=("train",), group="data", options={"type": fraction}),
    Flag("--input-shape", "input_shape", _both(None),
         "shape of one example, e.g. 28 28 1 for flat digits into a --conv model (graph: default MNIST's)",
         commands=("train", "graph"), group="data", options={"type": positive_int, "nargs": "+", "metavar": "DIM"}),
    # ------------------------------------------- evaluate's scores of a VAE
    Flag("--k", "k", _ae(None), "importance samples per example of the IWAE bound (default: 5000; variational models)",
         commands=("evaluate",), group="scores", options={"type": positive_int}),
    Flag("--iwae-images", "iwae_images", _ae(None),
         "IWAE on the first N test examples only (default: all; k=5000 on 10,000 takes minutes)",
         commands=("evaluate",), group="scores", options={"type": positive_int}),
    Flag("--train-size", "train_size", _ae(None), f"training rows of the probes (default: up to {PROBE_ROWS})",
         commands=("evaluate",), group="scores", options={"type": positive_int}),
)
FLAG_FOR_ARGUMENT = {flag.argument: flag.name for flag in reversed(FLAGS) if flag.argument}


# --------------------------------------------------------------- using it


def _shown(value):
    """A default as the help shows it (None: not shown)."""
    if isinstance(value, list):
        value = " ".join(map(str, value))
    return None if value is None or value is False or value == "" else str(value)


def _help(flag, command):
    text = flag.help
    if len(flag.defaults) < len(FAMILIES):
        text += f" [{' and '.join(flag.defaults)} only]"
    if command == "evaluate":  # its defaults are the training run's
        return text
    shown = {family: _shown(value) for family, value in flag.defaults.items()}
    if len(set(shown.values())) == 1 and None not in shown.values():
        return f"{text} (default: {next(iter(shown.values()))})"
    parts = [f"{family}: {value}" for family, value in shown.items() if value is not None]
    return f"{text} (default: {'; '.join(parts)})" if parts else text


def add_flags(parser, command):
    """Add the table's flags of `command` to `parser`, in argument groups; every default None (`resolve` fills)."""
    groups = {}
    for flag in FLAGS:
        if command in flag.commands:
            if flag.group not in groups:
                groups[flag.group] = parser.add_argument_group(flag.group)
            options = dict(flag.options)
            if flag.choices is not None:  # every family's names: `check` refuses those of another family
                options["choices"] = list(dict.fromkeys(name for f in flag.defaults for name in flag.choices(f)))
            groups[flag.group].add_argument(flag.name, default=None, help=_help(flag, command), **options)


def _flags(args):
    """The table's flags that the parsed command `args` has."""
    return [flag for flag in FLAGS if args.command in flag.commands]


def check(args, family):
    """Refuse a flag given that `family` does not take, and a name that is not one of the family's choices."""
    for flag in _flags(args):
        value = getattr(args, flag.dest)
        if value is None:
            continue
        if family not in flag.defaults:
            raise CommandError(flag.name, f"{family} models do not take it (it is for {' and '.join(flag.defaults)} "
                               "models): leave it out.")
        if flag.choices is not None and value not in flag.choices(family):
            raise CommandError(flag.name, f"invalid choice for {family} models: {value!r} (choose from "
                               f"{', '.join(flag.choices(family))})")


def fill(args, family):
    """Set every flag of `args` left out to `family`'s default."""
    for flag in _flags(args):
        if getattr(args, flag.dest) is None:
            setattr(args, flag.dest, flag.defaults.get(family))


def resolve(args, family):
    """`check`, then `fill`: `args` as `family` reads them."""
    check(args, family)
    fill(args, family)


def model_kwargs(family, args, **resolved):
    """`family`'s constructor keywords from the model flags of `args` (left out: the family's default);
    `resolved` replaces what the command works out itself (a likelihood, a beta schedule, the classes).
    A keyword whose value is None is left to the constructor."""
    kwargs = {}
    for flag in FLAGS:
        if flag.group == "model" and family in flag.defaults and flag.argument:
            value = getattr(args, flag.dest, None)
            value = flag.defaults[family] if value is None else value
            kwargs[flag.argument] = value if flag.convert is None or value is None else flag.convert(value)
    kwargs.update(resolved)
    return {key: value for key, value in kwargs.items() if value is not None}


def settings(args, family):
    """{flag: value} of every table flag of `args` that `family` takes: what a run records."""
    return {flag.dest: getattr(args, flag.dest) for flag in _flags(args) if family in flag.defaults}


def family_of(model):
    """The family of a loaded model, from its class or the nearest base class the table knows."""
    for cls in type(model).__mro__:
        if cls.__name__ in _CLASSES:
            return _CLASSES[cls.__name__]
    raise CommandError("model", f"it holds a {type(model).__name__}, which is none of the command's families "
                       f"({', '.join(_CLASSES)}).")
