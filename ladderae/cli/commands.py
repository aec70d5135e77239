"""The `ladderae` commands behind the parser: train, evaluate, graph and bench, and what they share."""

import dataclasses
import json
import math
import pathlib
import sys
import tempfile

from ladderae.cli import ladder_training, spec
from ladderae.cli.spec import AUTOENCODER, LADDER, CommandError

_IWAE_K = 5000  # evaluate's importance samples per example by default (the literature's)
# evaluate's data flags left out: the training run's, from these keys of its metrics.json
_TRAINED = (("data", "data_source"), ("test_data", "test_data_source"), ("seed", "seed"), ("test_split", "test_split"),
            ("binarize", "binarized"), ("labels", "labels_source"), ("label_column", "label_column"))


def _model_kwargs(args, steps_per_epoch, likelihood):
    """LadderAE's keyword arguments from the flags, with `likelihood` and beta's warm-up over steps."""
    from ladderae.nn import schedules

    spec.resolve(args, AUTOENCODER)
    beta = args.beta
    if args.warmup_epochs > 0:
        beta = schedules.LinearWarmup(max(1, round(args.warmup_epochs * steps_per_epoch)), end=args.beta)
    return spec.model_kwargs(AUTOENCODER, args, likelihood=likelihood, beta=beta)


def _writable_folder(path, flag):
    """`path` created if need be and checked writable, before any long work; a CommandError otherwise."""
    path = pathlib.Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as err:
        raise CommandError(flag, f"{path} is not a folder this process can write ({err.strerror or err}): "
                           "pick another path.") from err
    return path


def _load_data(args, *, validation_split, train_size, schema=None):
    from ladderae.data import reading as data

    labels = ladder_training.read_labels(args.labels) if args.labels else None
    try:
        return data.load(args.data, test=args.test_data, data_dir=args.data_dir, validation_split=validation_split,
                         test_split=args.test_split, train_size=train_size, test_size=args.test_size,
                         seed=args.seed, schema=schema, labels=labels, label_column=args.label_column)
    except data.DataError as err:
        raise CommandError(spec.FLAG_FOR_ARGUMENT.get(err.argument, "--data"), err.problem) from err


def _source(path):
    """A data argument as evaluate can find it again from another folder: 'mnist', None or an absolute path."""
    return path if path is None or str(path).lower() == "mnist" else str(pathlib.Path(path).resolve())


def _reshaped(data, shape, flag, fix):
    """`data` with every example reshaped to `shape`, or a CommandError (saying `fix`) when the sizes differ."""
    shape = tuple(shape)
    if math.prod(shape) != math.prod(data.example_shape):
        raise CommandError(flag, f"the examples of {data.name} have shape {data.example_shape} "
                           f"({math.prod(data.example_shape)} values), which cannot become {shape} "
                           f"({math.prod(shape)} values): {fix}.")
    arrays = {k: getattr(data, k).reshape(-1, *shape) for k in ("x_train", "x_validation", "x_test")}
    return dataclasses.replace(data, **arrays)


def _likelihood(data, args, binarize):
    from ladderae.cli import training
    from ladderae.data import reading as data_lib

    try:
        return training.likelihood_for(data, args.likelihood, binarize)
    except data_lib.DataError as err:
        raise CommandError(spec.FLAG_FOR_ARGUMENT[err.argument], err.problem) from err


def _print_table(title, numbers):
    print(title)
    for name, value in numbers.items():
        print(f"  {name:>22s}  {value:10.4f}" if isinstance(value, float) else f"  {name:>22s}  {value!s:>10s}")


def _pictures(model, history, data, x_test, out):
    """The standard figures of a trained model that fit its data, as PNGs in `out`."""
    from ladderae.plots import figures as plots

    plots.pairing_graph(model, path=out / "pairing_graph.png")
    if history:
        plots.history(history, path=out / "history.png")
    if data.kind == "images":
        plots.reconstructions(model, x_test, path=out / "reconstructions.png")
        if model.variational:
            plots.samples(model, path=out / "samples.png")
            if model.latent_dim == 2:
                plots.latent_manifold(model, path=out / "latent_manifold.png")
    if data.kind == "table":
        frame = data.frames["test"]
        others = {"reconstructions": model.reconstruct_frame(frame)}
        if model.variational:
            others["samples"] = model.sample_frame(len(frame), seed=0)
        plots.column_distributions(frame, others, path=out / "columns.png")
    if data.y_test is not None and model.latent_dim >= 2 and not model.network.latents:  # one latent's codes
        plots.latent_scatter(model, x_test, data.y_test, path=out / "latent_scatter.png")
    if model.network.latents and data.kind == "images":
        from ladderae.plots import hierarchy as hierarchy_plots

        hierarchy_plots.layer_variation(model, x_test, path=out / "layer_variation.png")
        hierarchy_plots.prior_variation(model, path=out / "prior_variation.png")


# --------------------------------------------------------------- commands


def _train(args):
    import keras

    spec.resolve(args, args.model)
    keras.utils.set_random_seed(args.seed)
    out = _writable_folder(args.output, "--output")
    board = _writable_folder(args.tensorboard, "--tensorboard") if args.tensorboard else None
    data = _load_data(args, validation_split=args.validation_split, train_size=args.train_size)
    if args.input_shape:
        data = _reshaped(data, args.input_shape, "--input-shape", "give a shape with as many values")
    callbacks = []
    if board:
        from ladderae.plots import summaries

        images = data.x_test[:10] if data.kind == "images" and args.model == AUTOENCODER else None
        try:
            callbacks = summaries.tensorboard_callbacks(board, images, every=args.image_every)
        except ValueError as err:
            raise CommandError("--tensorboard", str(err).removeprefix("`log_dir`: ")) from err
    trainer = _train_ladder if args.model == LADDER else _train_autoencoder
    trainer(args, data, out, callbacks)
    print(f"saved model.keras, metrics.json and pictures in {out}")
    return 0


def _refuse_divergence(result, args, weight_flag):
    """Nothing is saved from a run whose loss became non-finite: one line naming the learning rate and `weight_flag`."""
    if result["diverged"]:
        epoch = len(result["history"].get("loss", []))
        raise CommandError("--learning-rate", f"training diverged: the loss became NaN or infinite in epoch {epoch}, "
                           f"so nothing was saved. Lower --learning-rate (now {args.learning_rate:g}) or "
                           f"{weight_flag}, or check the data's scale.")


def _record(result, args, data, out, model, detail):
    """Save `model`, write metrics.json (`result` with the data settings that evaluate reads back) and say what
    was trained, with `detail`."""
    import keras

    model.save(out / "model.keras")
    result.update(
        model=args.model, data=data.name, data_source=_source(args.data), test_data_source=_source(args.test_data),
        kind=data.kind, example_shape=list(data.example_shape), seed=args.seed,
        validation_split=args.validation_split, test_split=args.test_split, command=" ".join(sys.argv),
        keras_version=keras.__version__,
    )
    (out / "metrics.json").write_text(json.dumps(result, indent=2))
    print(f"\nbackend {result['backend']}, {result['parameters']:,} trainable parameters, {data.name} ({data.kind}): "
          f"{result['train_size']} training / {result['validation_size']} validation / {result['test_size']} test "
          f"rows, {args.epochs} epochs, {detail}")
    seconds = sorted(result["epoch_seconds"])
    print(f"median epoch {seconds[len(seconds) // 2]:.1f} s")


def _train_autoencoder(args, data, out, callbacks):
    from ladderae.cli import training

    binarize = data.name == "mnist" if args.binarize is None else args.binarize
    likelihood = _likelihood(data, args, binarize)
    kwargs = _model_kwargs(args, steps_per_epoch=-(-len(data.x_train) // args.batch_size), likelihood=likelihood)
    model, result = training.train(data, kwargs, binarize=binarize, epochs=args.epochs, batch_size=args.batch_size,
                                   learning_rate=args.learning_rate, seed=args.seed, verbose=args.verbose,
                                   callbacks=callbacks)
    _refuse_divergence(result, args, "--consistency-weight")
    result.update(likelihood=likelihood or "columns", binarized=binarize)
    _record(result, args, data, out, model, f"likelihood {likelihood or 'per column'}")
    _pictures(model, result["history"], data, training.evaluation_inputs(data, binarize), out)
    _print_table("test metrics (nats per example):", result["test"])


def _train_ladder(args, data, out, callbacks):
    y, n_classes, counts = ladder_training.training_labels(args, data)
    x_test, y_test = ladder_training.scored_rows(args, data, data.x_test, data.y_test, n_classes)
    model, result = ladder_training.fit(args, data, y, n_classes, x_test, y_test, callbacks)
    _refuse_divergence(result, args, "--denoising-weight")
    result.update(labels_source=_source(args.labels), label_column=args.label_column, label_counts=counts,
                  n_classes=n_classes, settings=spec.settings(args, LADDER),
                  schema=data.schema.get_config() if data.schema is not None else None)
    _record(result, args, data, out, model, f"{counts['labelled']} of the training rows labelled, {n_classes} classes")
    ladder_training.pictures(model, result["history"].get("test_error"), data.x_test, out)
    _print_table(f"on {len(y_test)} labelled test rows (batch-norm statistics of the training rows):", result["test"])


def _load_model(path):
    from ladderae.models.saving import load_model

    try:
        return load_model(path)
    except (OSError, ValueError) as err:
        raise CommandError("model", f"{path} could not be loaded: {err}") from err


def _training_settings(model_path):
    """What `ladderae train` recorded beside `model_path` (its metrics.json), or {} where there is none."""
    path = pathlib.Path(model_path).parent / "metrics.json"
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, json.JSONDecodeError):
        return {}


def _evaluate(args):
    import keras

    out = _writable_folder(args.output or pathlib.Path(args.model).parent, "--output")
    trained = _training_settings(args.model)
    model = _load_model(args.model)
    family = spec.family_of(model)
    spec.check(args, family)
    for name, key in _TRAINED:
        if getattr(args, name) is None and key in trained:
            setattr(args, name, trained[key])
    spec.fill(args, family)
    keras.utils.set_random_seed(args.seed)
    evaluator = _evaluate_ladder if family == LADDER else _evaluate_autoencoder
    numbers, title = evaluator(args, model, trained, out)
    numbers.update(model=str(args.model), backend=keras.backend.backend(), command=" ".join(sys.argv))
    (out / "evaluation.json").write_text(json.dumps(numbers, indent=2))
    _print_table(title, numbers)
    return 0


def _evaluate_autoencoder(args, model, trained, out):
    from ladderae import evaluation as evaluate
    from ladderae.cli import training

    schema = getattr(model, "schema", None)
    if schema is not None and args.data == "mnist":
        raise CommandError("--data", f"{args.model} models a table: give the CSV file its test rows are in.")
    data = _load_data(args, validation_split=0.0, train_size=None, schema=schema)
    shape = tuple(model.graph.graph["input_shape"])
    if data.example_shape != shape:
        data = _reshaped(data, shape, "--data", f"{args.model} takes examples of shape {shape}; give data of that size")
    binarize = data.name == "mnist" if args.binarize is None else args.binarize
    x_test = training.evaluation_inputs(data, binarize)
    probe_rows = args.train_size or min(spec.PROBE_ROWS, len(data.x_train))
    x_train, y_train = data.x_train[:probe_rows], None if data.y_train is None else data.y_train[:probe_rows]
    if not model.variational and (args.k is not None or args.iwae_images is not None):
        raise CommandError("--k" if args.k is not None else "--iwae-images",
                           f"{args.model} is deterministic (no posterior): it has no IWAE bound. Leave the flag out.")
    if model.variational:
        probes = (data.y_test, x_train, y_train) if data.y_test is not None and y_train is not None else ()
        numbers = evaluate.report(model, x_test, *probes, k=args.k or _IWAE_K, iwae_images=args.iwae_images,
                                  seed=args.seed, verbose=1)
    else:  # no ELBO without a posterior: the loss terms, and the pair residuals
        numbers = model.evaluate(x_test, batch_size=1000, verbose=0, return_dict=True)
        numbers = {k: float(v) for k, v in numbers.items()}
        if model.pairs:
            numbers.update(evaluate.pair_residuals(model, x_test))
    numbers.update(data=data.name, train_size=len(x_train), test_size=len(x_test), binarized=binarize)
    _pictures(model, None, data, x_test, out)
    what = "binarised " if binarize else ""
    return numbers, f"{args.model} on {len(x_test)} {what}test rows of {data.name} (nats per example):"


def _evaluate_ladder(args, model, trained, out):
    from ladderae.data.schema import TabularSchema

    schema = TabularSchema.from_config(trained["schema"]) if trained.get("schema") else None
    data = _load_data(args, validation_split=0.0, train_size=None, schema=schema)
    width = model.get_config()["input_dim"]
    if math.prod(data.example_shape) != width:
        raise CommandError("--data", f"{args.model} takes examples of {width} values; the examples of {data.name} "
                           f"have shape {data.example_shape}: give data of that size.")
    x_test, y_test = ladder_training.scored_rows(args, data, data.x_test, data.y_test, model.n_classes)
    numbers = {k: float(v) for k, v in model.evaluate(x_test, y_test, batch_size=1000, verbose=0,
                                                       return_dict=True).items()}
    numbers = {"test_error": numbers["error"], **numbers, "data": data.name, "test_size": len(x_test)}
    ladder_training.pictures(model, trained.get("history", {}).get("test_error"), data.x_test, out)
    return numbers, f"{args.model} on {len(x_test)} labelled test rows of {data.name}:"


def _graph(args):
    from ladderae.data import mnist as datasets
    from ladderae.graph import build as graph
    from ladderae.plots import figures as plots

    spec.resolve(args, args.model)
    shape = tuple(args.input_shape) if args.input_shape else (*datasets.IMAGE_SHAPE, 1)
    if args.model == LADDER:
        from ladderae.models.ladder_network import LadderNetwork

        model = LadderNetwork(math.prod(shape), **spec.model_kwargs(LADDER, args))
    else:
        from ladderae.models.autoencoder import LadderAE

        likelihood = "bernoulli" if args.likelihood == "auto" else args.likelihood
        model = LadderAE(input_shape=shape, **_model_kwargs(args, steps_per_epoch=1, likelihood=likelihood))
    plots.pairing_graph(model, path=args.output)
    for e, d, data in graph.pairs(model.graph):
        print(f"{e} ~ {d}: " + ", ".join(f"{key} {value}" for key, value in data.items() if key != "kind"))
    for source, tied in graph.ties(model.graph):
        print(f"tied: the layer making {tied} reuses the kernel of {source}, transposed")
    print(f"{len(model.pairs)} pairs; drawn to {args.output}")
    return 0


def _bench(args):
    script = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "mnist_vs_vae.py"
    if not script.exists():
        raise ValueError(f"`ladderae bench` runs {script.name} from a source checkout of ladderae "
                         "(benchmarks/ is not installed): clone the repository and pip install -e it.")
    sys.path.insert(0, str(script.parent))
    import mnist_vs_vae

    return mnist_vs_vae.main(args.arguments)
