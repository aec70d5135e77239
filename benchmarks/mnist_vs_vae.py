"""ladderae against a plain Keras VAE on dynamically binarised MNIST: likelihood, latents, speed.

    python benchmarks/mnist_vs_vae.py --out benchmarks/results            # the main table (2.5 hours on 2 cores)
    python benchmarks/mnist_vs_vae.py --quick --out /tmp/bench            # every row, tiny budget (tests)
    python benchmarks/mnist_vs_vae.py --protocol iwae --stages 5          # the IWAE paper's protocol, 121 epochs
    python benchmarks/mnist_vs_vae.py --protocol hierarchical --epochs 10  # the Ladder VAE against one latent
    python benchmarks/mnist_vs_vae.py --protocol lvae                      # the LVAE paper's, 2,000 epochs, 1 seed

Main table (as in the VAE/IWAE literature): training digits binarised afresh
every epoch, the test set binarised once with a fixed seed; the same layer
sizes, optimiser (Adam 1e-3), batch size, epochs and input pipeline for every
row; numbers in nats per example. The baseline (`baseline_vae.py`) shares no
model code with ladderae; the row "ladderae, no pairs" must agree with it.
Each pair mode's weight is chosen by a sweep on a validation split (the last
10,000 training digits, trained on the others), never on the test set.

`--protocol iwae` is Burda et al.'s protocol on their 784-200-200-50 tanh net:
learning-rate stages (`--stages` S: 3^i epochs at 1e-3 * 10^(-i/7) for
i < S; 8 stages are the paper's 3,280 epochs), batch 20, Adam eps 1e-4, k=5000
on every test digit, with the pair weight the main table's sweep chose; then
`--speed-rounds` paired rounds of its rows at batch 20 (the step time at k=50
beside k=1) and of the IWAE objective at each `--k-sweep` k (the step time
against k), to be run with the cores free of other jobs (0 skips them).

`--protocol hierarchical` is the main table's protocol (Adam 1e-3, batch 128,
the same epochs for every row) for Sønderby et al.'s Ladder VAE on MNIST
(deterministic 512-256-128-64-32, latents 64-32-16-8-4, batch norm, KL
warm-up) against the plain VAE, ladderae wide and one latent with the LVAE's
parameter count; IWAE k=5000 on every test digit over all latent layers
(`ladderae.evaluate_hierarchy`), KL and active units per layer, s/epoch paired
with the baseline's and against each row's own matmul floor, in training and
in `--speed-rounds` paired rounds after every run (one job at a time). It also
plans one latent at the LVAE's size trained as the LVAE is (batch norm, the
same warm-up), so that the LVAE differs from one row by its hierarchy alone.

`--protocol lvae` is the Ladder VAE paper's MNIST comparison at its budget, as
its code runs it (casperkaae/LVAE, `mnistbench.spec.LVAE_PAPER_*`): one
generative model, deterministic blocks of two Dense layers of each width of
512-256-128-64-32, latents 64-32-16-8-4, batch norm, leaky ReLU, trained with
bottom-up inference (`pair_kind="bottom_up"`) and with the Ladder VAE's
(`"stochastic"`), batch 256, Adam 2e-4 (eps 1e-4, the gradients' global norm
capped at 4 then clipped to +-0.9), the KL weight from 0 to 1 over the first
200 epochs, 2,000 epochs, 1 seed; scored like the hierarchical table, beside
the paper's figures as quoted, with the paired difference LVAE minus bottom-up
per seed.

Every run is a subprocess on its own backend, one at a time; it saves its
state each epoch and writes one JSON file when done, so a killed benchmark
started again resumes every run from its last finished epoch and skips the
finished ones (`mnistbench.run`). Outputs: results.json (every run, config,
versions, machine, commit), results.md (the tables) and per-row plots.
"""

import argparse
import collections
import datetime
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from mnistbench import floor, plan, report  # noqa: E402
from mnistbench.run import Runner, build_model, child, count_parameters, environment  # noqa: E402
from mnistbench.spec import (LVAE_PAPER_BATCH, LVAE_PAPER_BOTTOM_UP, LVAE_PAPER_EPOCHS, LVAE_PAPER_LADDER,  # noqa: E402
                             PRESETS, example_shape, slug)

PROTOCOLS = ["table", "iwae", "hierarchical", "lvae"]
PROTOCOL_DEFAULTS = {  # option: (main table, IWAE protocol, hierarchical table, LVAE paper's protocol)
    "out": (HERE / "results", HERE / "results" / "iwae_protocol", HERE / "results" / "hierarchical",
            HERE / "results" / "lvae_paper"),
    "presets": (["wide", "iwae", "conv"], ["iwae"], ["wide"], ["wide"]),
    "seeds": (3, 3, 3, 1),
    "epochs": (10, 10, 10, LVAE_PAPER_EPOCHS),  # the IWAE protocol's come from --stages
    "batch_size": (128, 20, 128, LVAE_PAPER_BATCH),
    "iwae_k": (1000, 5000, 5000, 5000),
    "iwae_images": (1000, None, None, None),  # None: every test digit
}
PROTOCOLS_WITH_ROWS = "--protocol iwae, hierarchical or lvae"


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--protocol", choices=PROTOCOLS, default="table",
                   help="the main table (default), the IWAE paper's protocol, the hierarchical (Ladder VAE) table or "
                   "the Ladder VAE paper's protocol")
    p.add_argument("--out", default=None, help="output folder (resumes from its runs/ and work/)")
    p.add_argument("--train-only", action="store_true",
                   help="train every planned run and stop (no scoring, no tables); a run without it then scores them")
    p.add_argument("--quick", action="store_true", help="every row on a tiny budget, in-process (for the tests)")
    p.add_argument("--presets", nargs="+", default=None, choices=list(PRESETS),
                   help="the first gets every row (no-pair and best-pair rows on every backend), later ones the "
                   "baseline, no-pair and best-pair rows on the main backend")
    p.add_argument("--rows", nargs="+", default=None,
                   help=f"{PROTOCOLS_WITH_ROWS}: only these rows (by name, e.g. 'ladderae, no pairs'); default: all")
    p.add_argument("--seeds", type=int, default=None, help="default: 3 (--protocol lvae: 1)")
    p.add_argument("--epochs", type=int, default=None,
                   help="default: 10 (--protocol lvae: the paper's 2,000; its KL warm-up stays 200 epochs)")
    p.add_argument("--stages", type=int, default=5, help="--protocol iwae: learning-rate stages (8 = the paper's)")
    p.add_argument("--batch-size", type=int, default=None, help="default: 128 (--protocol iwae: 20; lvae: 256)")
    p.add_argument("--train-size", type=int, default=None, help="default: every training digit")
    p.add_argument("--test-size", type=int, default=None, help="default: every test digit")
    p.add_argument("--probe-size", type=int, default=10000, help="training digits the linear probe learns from")
    p.add_argument("--iwae-k", type=int, default=None)
    p.add_argument("--iwae-images", type=int, default=None)
    p.add_argument("--backends", nargs="+", default=["jax", "tensorflow"])
    p.add_argument("--main-backend", default="jax", help="backend of the rows run on one backend only")
    p.add_argument("--sweep-weights", type=float, nargs="+", default=[0.3, 3.0, 30.0])
    p.add_argument("--sweep-epochs", type=int, default=3)
    p.add_argument("--weight", type=float, default=None,
                   help="the one pair weight for every mode (0 included); the sweep then only picks the best mode")
    p.add_argument("--choice-from", default=str(HERE / "results" / "results.json"),
                   help="--protocol iwae: the main table's results.json whose validation choice it uses")
    p.add_argument("--speed-rounds", type=int, default=3, help="0 skips the speed section")
    p.add_argument("--speed-epochs", type=int, default=2)
    p.add_argument("--k-sweep", type=int, nargs="*", default=[1, 2, 5, 10, 20, 50],
                   help="--protocol iwae: the k of the IWAE objective (no pairs) whose step the speed rounds time, the "
                   "step time against k; none (the flag alone) skips them")
    p.add_argument("--report-only", action="store_true",
                   help=f"{PROTOCOLS_WITH_ROWS}: train nothing; tabulate the runs saved in --out (e.g. copied "
                   "from the worktree that trained them), leaving out the planned runs not saved yet")
    p.add_argument("--speed-only", action="store_true",
                   help=f"{PROTOCOLS_WITH_ROWS}: only the speed rounds (no training runs, no tables), to "
                   "time the rows while the cores are free and tabulate later from the same --out")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--_run", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    for flag in ("train_only", "speed_only", "report_only"):
        if getattr(args, flag) and args.protocol == "table":
            p.error(f"--{flag.replace('_', '-')} is for {PROTOCOLS_WITH_ROWS} (the main table's sweep must "
                    "be scored to plan the rest)")
    if args.quick:
        _quick(p, args)
    column = PROTOCOLS.index(args.protocol)
    for name, defaults in PROTOCOL_DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, defaults[column])
    return args


def _quick(p, args):
    """--quick: every row in this process, eagerly, on a budget where each run costs about a second.

    The main table's baseline rows are TensorFlow runs, so its quick pass runs
    on TensorFlow, on the `wide` preset (every row; what later presets get is
    a matter of planning, tested without training); the protocols run every
    row on the backend at hand.
    """
    import keras

    backend = keras.backend.backend()
    if args.protocol == "table" and backend != "tensorflow":
        p.error("--quick runs every row in this process, the baseline included, and the main table's baseline "
                "rows are TensorFlow runs: use KERAS_BACKEND=tensorflow")
    if args.protocol == "table" and args.presets is None:
        args.presets = ["wide"]
    args.backends, args.main_backend = [backend], backend
    args.seeds, args.epochs, args.train_size, args.test_size, args.probe_size = 2, 1, 128, 128, 128
    args.iwae_k, args.iwae_images, args.sweep_weights, args.sweep_epochs = 4, 16, [1.0], 1
    args.speed_rounds, args.speed_epochs, args.stages, args.k_sweep = 1, 1, 2, [1, 3]


def _logger(out):
    log_file = open(out / "log.txt", "a")

    def log(message):
        stamped = f"{datetime.datetime.now():%H:%M:%S} {message}"
        print(stamped, flush=True)
        log_file.write(stamped + "\n")
        log_file.flush()

    return log


def _floor(args, run, g, name, samples=1):
    """The epoch floor of graph `g` on this data at the run's batch size, its matmul rate kept under `name`;
    `samples`: the ``iwae`` objective's k (z and what lies above it run k times)."""
    timing = {"repeats": 1, "trials": 1} if args.quick else {}  # --quick: a rough rate is enough
    gflops = floor.saved_matmul_gflops(run.out / "runs", name, g, args.batch_size, samples, **timing)
    return {"flops_per_example": floor.training_flops_per_example(g, samples), "matmul_gflops": gflops,
            "floor_seconds": floor.epoch_floor_seconds(g, args.train_size, gflops, samples)}


def _preset_graph(sizes, preset):
    """`preset`'s no-pair LadderAE graph on this data (the baseline's twin: the same layers)."""
    import ladderae

    shape = example_shape(preset, sizes.image_shape)
    return ladderae.LadderAE(input_shape=shape, pairing="none", **PRESETS[preset]).graph


def _run_all(run, planned):
    """The results of the planned runs that have one (every run, unless --report-only or --train-only)."""
    results = [run(spec, run_id, f"[{i}/{len(planned)}]") for i, (spec, run_id) in enumerate(planned, start=1)]
    return [r for r in results if r is not None]


def _speed_rounds(run, planned):
    """The speed runs of a section: rounds are paired, so under --report-only a row with a round missing (one added
    to a table after its rounds were timed) is left out, and the rows that ran every round stay."""
    speed = _run_all(run, planned)
    ran = collections.Counter(r["spec"]["row"] for r in speed)
    complete = {row for row, rounds in collections.Counter(spec.row for spec, _ in planned).items()
                if ran[row] == rounds}
    return [r for r in speed if r["spec"]["row"] in complete]


def main_table(args, run, sizes, log):
    sweep = _run_all(run, plan.plan_sweep(args))
    chosen, best_mode = plan.choose(sweep)
    log(f"chosen weights: {chosen}; best mode: {best_mode}")
    results = _run_all(run, plan.plan_main(args, chosen, best_mode))
    speed = _speed_rounds(run, plan.plan_speed(args, chosen) if args.speed_rounds else [])
    speed_section = None
    if speed:
        speed_section = _floor(args, run, _preset_graph(sizes, "wide"), "wide")
        speed_section["configs"] = report.summarize_speed(speed, speed_section["floor_seconds"])
    return {"sweep": sweep, "chosen": chosen, "best_mode": best_mode, "runs": results,
            "summary": report.summarize(results), "speed_runs": speed, "speed": speed_section}


def iwae_protocol(args, run, sizes, log):
    chosen, best_mode = plan.saved_choice(pathlib.Path(args.choice_from))
    skipped = []
    planned = plan.plan_protocol(args, chosen, best_mode, lambda m: (skipped.append(m), log(m)))
    results = _run_all(run, planned)
    if args.train_only:
        return None
    g = _preset_graph(sizes, "iwae")
    floors = _row_floors(args, run, g, planned)  # every planned row (its speed rounds need it too)
    speed = _speed_rounds(run, plan.plan_protocol_speed(args, chosen, best_mode))
    configs = None
    if speed:
        configs = _speed_configs(args, speed, floors)
    k_sweep = _k_sweep(args, run, g)
    return {"chosen": chosen, "best_mode": best_mode, "runs": results, "summary": report.summarize(results),
            "floor": _floor(args, run, g, "iwae"), "floors": floors, "skipped": skipped, "speed_runs": speed,
            "speed": configs, **k_sweep}


def _row_floors(args, run, g, planned):
    """{row: its floor} for every row of `planned`, a row with the ``iwae`` objective's k samples at its own k."""
    first = {spec.row: spec for spec, _ in reversed(planned)}
    return {row: _floor(args, run, g, "iwae", (spec.kwargs or {}).get("k", 1)) for row, spec in first.items()}


def _speed_configs(args, speed, floors, baseline_row=report.BASELINE):
    """The paired speed rounds summarised per row, each against its own floor in `floors` ({row: `_floor`'s dict})."""
    return report.summarize_speed(speed, {row: f["floor_seconds"] for row, f in floors.items()},
                                  baseline_backend=args.main_backend, baseline_row=baseline_row)


def _k_sweep(args, run, g):
    """The IWAE step time against k: the sweep's paired rounds against each k's own floor (none until every round
    has run)."""
    planned = plan.plan_k_sweep(args)
    sweep = _speed_rounds(run, planned)
    if not sweep:
        return {"k_sweep_runs": [], "k_sweep": None}
    floors = _row_floors(args, run, g, planned)
    configs = _speed_configs(args, sweep, floors, baseline_row=planned[0][0].row)
    k_of = {spec.row: spec.kwargs["k"] for spec, _ in planned}
    for config in configs:
        config["k"] = k_of[config["row"]]
    return {"k_sweep_runs": sweep, "k_sweep": configs}


def _row_models(planned, sizes):
    """{row name: its model as the first seed builds it}, to count parameters and read graphs before training."""
    first = {}
    for spec, _ in planned:
        first.setdefault(spec.row, spec)
    return {row: build_model(spec, example_shape(spec.preset, sizes.image_shape), steps_per_epoch=1)
            for row, spec in first.items()}


def _rows_of_layers(args, run, sizes, log, planned, speed_planned, baseline_row=report.BASELINE):
    """A table of rows with latent layers (the hierarchical table, the LVAE paper's protocol): parameters per row
    printed first, then every run, the paired speed rounds and each row's own floor (of the rows that have a run)."""
    models = _row_models(planned, sizes)
    for row, model in models.items():
        log(f"{row}: {count_parameters(model):,} trainable parameters")
    results = _run_all(run, planned)
    if args.train_only:
        return None
    # --report-only: a row with no run saved yet (e.g. one added to the table) is left out of the speed section too.
    trained = {r["spec"]["row"] for r in results}
    speed = _speed_rounds(run, [(s, run_id) for s, run_id in speed_planned if s.row in trained])
    baseline_twin = _preset_graph(sizes, "wide")
    floors = {row: _floor(args, run, getattr(model, "graph", baseline_twin), slug(args.protocol, row))
              for row, model in models.items() if row in trained}
    configs = None
    if speed:
        configs = _speed_configs(args, speed, floors, baseline_row=baseline_row)
    return {"runs": results, "summary": report.summarize(results), "floors": floors, "speed_runs": speed,
            "speed": configs}


def hierarchical(args, run, sizes, log):
    """The hierarchical table: the Ladder VAE against one latent (`_rows_of_layers`)."""
    return _rows_of_layers(args, run, sizes, log, plan.plan_hierarchy(args), plan.plan_hierarchy_speed(args))


def lvae_protocol(args, run, sizes, log):
    """The Ladder VAE paper's comparison (`_rows_of_layers`), with the paired difference LVAE minus bottom-up per
    seed; a row whose pair kind this ladderae lacks is logged and left out."""
    skipped = []
    planned = plan.plan_lvae(args, lambda message: (skipped.append(message), log(message)))
    body = _rows_of_layers(args, run, sizes, log, planned, plan.plan_lvae_speed(args),
                           baseline_row=LVAE_PAPER_BOTTOM_UP)
    if body is None:
        return None
    paired = report.paired_rows(body["runs"], LVAE_PAPER_LADDER, LVAE_PAPER_BOTTOM_UP, ("iwae_nll", "neg_elbo"))
    return {**body, "skipped": skipped, "paired": paired}


def main(argv=None):
    args = parse(argv)
    if args._run:  # one run in this subprocess
        child(json.loads(args._run))
        return 0
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = _logger(out)
    run = Runner(out, args.quick, log, train_only=args.train_only, report_only=args.report_only)
    sizes = plan.DataSizes.load(args.data_dir)
    plan.resolve(args, sizes)
    if args.speed_only:
        speed_plan = {"iwae": lambda: plan.plan_protocol_speed(args, *plan.saved_choice(pathlib.Path(args.choice_from)))
                      + plan.plan_k_sweep(args),
                      "hierarchical": lambda: plan.plan_hierarchy_speed(args),
                      "lvae": lambda: plan.plan_lvae_speed(args)}[args.protocol]()
        _run_all(run, speed_plan)
        log("ran the speed rounds (--speed-only): a run without it trains, scores and tabulates beside them")
        return 0
    protocol = {"table": main_table, "iwae": iwae_protocol, "hierarchical": hierarchical,
                "lvae": lvae_protocol}[args.protocol]
    body = protocol(args, run, sizes, log)
    if body is None:
        log("trained every planned run (--train-only): run again without it to score them and write the tables")
        return 0
    result = {
        "date": f"{datetime.date.today()}",
        "command": "python benchmarks/mnist_vs_vae.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "environment": environment(), "settings": {k: v for k, v in vars(args).items() if k != "_run"}, **body,
    }
    result["settings"]["out"] = str(result["settings"]["out"])
    (out / "results.json").write_text(json.dumps(result, indent=1))
    markdown = {"table": report.markdown, "iwae": report.protocol_markdown, "hierarchical": report.hierarchy_markdown,
                "lvae": report.lvae_markdown}
    text = markdown[args.protocol](result)
    (out / "results.md").write_text(text)
    log(f"wrote {out / 'results.md'} and {out / 'results.json'}")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
