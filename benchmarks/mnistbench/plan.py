"""Which runs a benchmark makes: the pair-weight sweep, the main table, the speed section, the IWAE protocol, the
hierarchical table and the Ladder VAE paper's protocol.

Planning reads nothing but the settings, the data's sizes and (for the
protocol) the validation choice of an earlier table; it returns ``(RunSpec,
run id)`` lists that the runner executes or finds already saved.
"""

import dataclasses
import inspect
import json

from mnistbench.schedule import stage_epochs
from mnistbench.spec import (BASELINE, LVAE, LVAE_PAPER_STEP, MODES, NO_PAIRS, Row, RunSpec, hierarchy_rows, iwae_row,
                             lvae_paper_rows, mirror, protocol_rows, slug, table_rows)


@dataclasses.dataclass(frozen=True)
class DataSizes:
    """What planning needs to know of the data, read from the loaded arrays: counts and one image's shape."""

    train: int
    test: int
    image_shape: tuple

    @classmethod
    def load(cls, data_dir):
        from ladderae import datasets

        (x_train, _), (x_test, _) = datasets.load_mnist(data_dir, flatten=False)
        return cls(len(x_train), len(x_test), x_train.shape[1:])


def resolve(args, sizes):
    """Fill the settings that default to the data (every digit) and clip the others to it."""
    args.train_size = min(args.train_size or sizes.train, sizes.train)
    args.test_size = min(args.test_size or sizes.test, sizes.test)
    args.probe_size = min(args.probe_size, args.train_size)
    args.iwae_images = min(args.iwae_images or args.test_size, args.test_size)
    if args.protocol == "iwae":
        args.epochs = stage_epochs(args.stages)


def _spec(args, preset, row, weights, backend, seed, **overrides):
    fields = dict(
        preset=preset, row=row.name, kind=row.kind, kwargs=row.model_kwargs(weights), backend=backend, seed=seed,
        epochs=args.epochs, batch_size=args.batch_size, learning_rate=1e-3, train_size=args.train_size,
        test_size=args.test_size, probe_size=args.probe_size, iwae_k=args.iwae_k, iwae_images=args.iwae_images,
        data_dir=args.data_dir, run_eagerly=args.quick,
        plots=not args.quick or row.name in (NO_PAIRS, LVAE),  # --quick: these rows' pictures show they are drawn
    )
    return RunSpec(**{**fields, **overrides})


def sweep_weights(args):
    """The pair weights the sweep tries: `--weight` alone when given (0 included), else `--sweep-weights`."""
    return [args.weight] if args.weight is not None else list(args.sweep_weights)


def plan_sweep(args):
    """Every pair mode at every sweep weight, first seed, trained on all but the validation digits."""
    return [(_spec(args, "wide", Row(f"sweep {mode} w={w}", kwargs={**kwargs, "consistency_weight": w}), {},
                   args.main_backend, 0, validation=True, epochs=args.sweep_epochs), slug("sweep", mode, w))
            for mode, kwargs in MODES.items() for w in sweep_weights(args)]


def choose(sweep_results):
    """Best weight per mode (validation -ELBO), and the best mode overall."""
    best = {}
    for r in sweep_results:
        mode = r["spec"]["kwargs"]["stop_gradient"]
        if mode not in best or r["neg_elbo"] < best[mode]["neg_elbo"]:
            best[mode] = {"weight": r["spec"]["kwargs"]["consistency_weight"], "neg_elbo": r["neg_elbo"]}
    best_mode = min(best, key=lambda m: best[m]["neg_elbo"])
    return best, best_mode


def weights_of(chosen):
    return {mode: c["weight"] for mode, c in chosen.items()}


def plan_main(args, chosen, best_mode):
    """The first preset gets every row, later ones the baseline, no-pair and best-pair rows.

    The baseline runs on TensorFlow; the no-pair and best-pair rows of the
    first preset on every backend; the rest on the main backend.
    """
    rows = table_rows(best_mode)
    core = {BASELINE, NO_PAIRS, f"mirror, {best_mode}"}
    out = []
    for preset in args.presets:
        first = preset == args.presets[0]
        for row in (r for r in rows if first or r.name in core):
            if row.kind == "baseline":
                backends = ["tensorflow"]
            elif first and row.name in core:
                backends = list(args.backends)
            else:
                backends = [args.main_backend]
            for backend in backends:
                for seed in range(args.seeds):
                    spec = _spec(args, preset, row, weights_of(chosen), backend, seed)
                    out.append((spec, slug(preset, row.name, backend, seed)))
    return out


def _speed_rounds(args, preset, configs, weights, run_id, **overrides):
    """Paired speed rounds: every ``(row, backend)`` of `configs` once per round, 1 warm-up epoch and
    `--speed-epochs` timed ones, nothing scored; `run_id(round, row, backend)` names each run."""
    return [(_spec(args, preset, row, weights, backend, r, speed_only=True, plots=False,
                   epochs=1 + args.speed_epochs, **overrides), run_id(r, row, backend))
            for r in range(args.speed_rounds) for row, backend in configs]


def plan_speed(args, chosen):
    """Paired speed rounds on `wide`: every configuration once per round, 1 warm-up epoch and the timed ones."""
    configs = [(Row(BASELINE, kind="baseline"), "tensorflow"), (Row(NO_PAIRS, kwargs={"pairing": "none"}), "tensorflow")]
    configs += [(Row(NO_PAIRS, kwargs={"pairing": "none"}), b) for b in args.backends if b != "tensorflow"]
    configs += [(mirror(mode), args.main_backend) for mode in MODES]
    return _speed_rounds(args, "wide", configs, weights_of(chosen), lambda r, row, b: slug("speed", r, row.name, b))


def saved_choice(path):
    """The validation choice (weights per mode, best mode) of an earlier table's results.json."""
    report = json.loads(path.read_text())
    return report["chosen"], report["best_mode"]


def missing_arguments(row):
    """LadderAE arguments of `row` that this ladderae does not accept yet, and a pair kind it has not registered
    (empty when it runs)."""
    if row.kind == "baseline":
        return []
    import ladderae

    accepted = inspect.signature(ladderae.LadderAE.__init__).parameters
    missing = [name for name in row.kwargs if name not in accepted and name != "warmup"]
    kind = row.kwargs.get("pair_kind")
    if isinstance(kind, str) and kind not in ladderae.pair_kinds.pair_kinds.names:
        missing.append(f"pair_kind={kind!r}")
    return missing


def picked_rows(every, names):
    """The rows of `every` named in `names` (`--rows`), all of them when `names` is empty; unknown names: an error."""
    unknown = set(names or ()) - {row.name for row in every}
    if unknown:
        raise ValueError(f"`--rows`: no protocol row named {sorted(unknown)}. Rows: {[row.name for row in every]}")
    return [row for row in every if not names or row.name in names]


# At batch 20 a step is short enough that Python's round trip shows: 50 steps per call measured 1.5x faster on JAX.
PROTOCOL_STEPS_PER_EXECUTION = 50
# The protocol's training step beyond the batch size, the same in its runs and its speed rounds.
PROTOCOL_STEP = {"adam_epsilon": 1e-4, "steps_per_execution": PROTOCOL_STEPS_PER_EXECUTION}


def runnable_rows(every, names, log):
    """The rows of `every` that `--rows` (`names`) picks and this ladderae runs; the others are logged as skipped."""
    rows = []
    for row in picked_rows(every, names):
        missing = missing_arguments(row)
        if missing:
            log(f"skipping {row.name!r}: LadderAE does not accept {', '.join(missing)} yet; it runs once it does")
        else:
            rows.append(row)
    return rows


def _protocol_rows(args, best_mode, log):
    """The IWAE protocol's rows that `--rows` picks and this ladderae runs; the others are logged as skipped."""
    return runnable_rows(protocol_rows(best_mode), args.rows, log)


def plan_protocol(args, chosen, best_mode, log):
    """The IWAE paper's protocol on its architecture: staged rates, batch 20, Adam eps 1e-4, k=5000 on every test digit.

    Seed-major order, so paired differences accrue as runs finish. `args.rows`
    (names) picks some rows; rows whose LadderAE arguments this ladderae does
    not accept are left out, with a line in the log saying so; they run once it does.
    """
    rows = _protocol_rows(args, best_mode, log)
    return [(_spec(args, "iwae", row, weights_of(chosen), args.main_backend, seed, stages=args.stages,
                   **PROTOCOL_STEP), slug("iwae", row.name, f"{args.stages}stages", seed))
            for seed in range(args.seeds) for row in rows]


def plan_protocol_speed(args, chosen, best_mode):
    """Paired speed rounds of the protocol's rows at its batch size and step (the IWAE k=50 rows: the step time at
    k=50 beside k=1), after its runs and apart from them: run them with the cores free of other jobs."""
    configs = [(row, args.main_backend) for row in _protocol_rows(args, best_mode, lambda message: None)]
    return _speed_rounds(args, "iwae", configs, weights_of(chosen), lambda r, row, b: slug("iwae-speed", r, row.name),
                         **PROTOCOL_STEP)


def plan_k_sweep(args):
    """Paired speed rounds of the IWAE objective without pairs at each `--k-sweep` k, at the protocol's step: the
    step time against k (its own section, so that it needs none of the protocol's trained rows)."""
    configs = [(iwae_row(k), args.main_backend) for k in args.k_sweep]
    return _speed_rounds(args, "iwae", configs, {}, lambda r, row, b: slug("iwae-ksweep", r, row.name),
                         **PROTOCOL_STEP)


def plan_hierarchy(args):
    """The hierarchical table: its rows (`--rows` picks some) on the main backend, the main table's protocol (Adam
    1e-3, the same batch size and epochs for every row), seed-major so that paired differences accrue as runs finish."""
    rows = picked_rows(hierarchy_rows(), args.rows)
    return [(_spec(args, "wide", row, {}, args.main_backend, seed), slug("hierarchical", row.name, seed))
            for seed in range(args.seeds) for row in rows]


def plan_hierarchy_speed(args):
    """Paired speed rounds of the hierarchical table's rows, after its runs (one job at a time: the cores free of
    other runs): every row once per round, 1 warm-up epoch and `--speed-epochs` timed ones, nothing scored."""
    configs = [(row, args.main_backend) for row in picked_rows(hierarchy_rows(), args.rows)]
    return _speed_rounds(args, "wide", configs, {}, lambda r, row, b: slug("hierarchical-speed", r, row.name))


def plan_lvae(args, log):
    """The Ladder VAE paper's comparison at its budget: its two rows (the same generative model with bottom-up and
    with ladder inference; `--rows` picks some) on the main backend, at the reference code's batch, step (Adam 2e-4,
    eps 1e-4, clipped gradients) and epochs, seed-major so that the paired difference accrues as runs finish. A row
    whose pair kind this ladderae has not registered is left out, with a line in the log; it runs once it is."""
    rows = runnable_rows(lvae_paper_rows(), args.rows, log)
    return [(_spec(args, "wide", row, {}, args.main_backend, seed, **LVAE_PAPER_STEP), slug("lvae", row.name, seed))
            for seed in range(args.seeds) for row in rows]


def plan_lvae_speed(args):
    """Paired speed rounds of the LVAE paper's rows at its batch and step, after its runs (the cores free)."""
    configs = [(row, args.main_backend) for row in runnable_rows(lvae_paper_rows(), args.rows, lambda message: None)]
    return _speed_rounds(args, "wide", configs, {}, lambda r, row, b: slug("lvae-speed", r, row.name),
                         **LVAE_PAPER_STEP)
