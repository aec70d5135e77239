"""The Ladder network on permutation-invariant MNIST: test error with 100, 1,000 and all labels, and speed.

    python benchmarks/mnist_ladder.py --labels 100 --draws 3          # the 100-label table (150 epochs per run)
    python benchmarks/mnist_ladder.py --labels 1000 all --epochs 30   # a reduced budget, stated in the output
    python benchmarks/mnist_ladder.py --speed                         # s/epoch and the matmul floor, no training
    python benchmarks/mnist_ladder.py --report                        # one table of every finished run in --out
    python benchmarks/mnist_ladder.py --quick --out /tmp/ladder       # every row, tiny budget (tests)

Protocol (Rasmus et al. 2015): pixels in [0, 1], no augmentation, encoder
784-1000-500-250-250-250-10, Adam 2e-3, batches of 100 unlabelled digits
(all 60,000 training digits) plus 100 labelled ones from a balanced draw
(`--draws` different draws, draw d also seeds the run), 150 epochs with the
learning rate decayed linearly to zero over the last third. Test error on all
10,000 test digits, after every epoch, with the batch-norm statistics first
recomputed over the run's training digits (the reference code's final test
also recomputes them from training data; the error with the running averages
is kept beside it as ``test_error_running``). Rows: supervised only (the same
network and noise, no decoder), today's consistency pairs (no lateral
connections, no noise), the Gamma-model (top pair only), the full ladder
(gauss combinator) and the full ladder with the augmented-MLP combinator.
A reduced budget (``--epochs``, ``--train-rows``) keeps the schedule's shape
(the decay over the last third of the epochs given) and is stated in the
table next to each figure.

Every run is a subprocess that saves its state each epoch (BackupAndRestore:
weights, optimizer with its step, hence the learning rate, and the noise
state; the batches follow the step through EpochSync) and writes
``runs/<id>.json`` when done: a killed benchmark started again resumes each
run from its last finished epoch, as if uninterrupted, and skips finished
ones. Each invocation tabulates its own runs; ``--report`` trains nothing and
tabulates every finished run under ``--out`` (the queue runs the label counts
at different budgets, one invocation each). Plots: ``plots/test-error-<labels>.png`` (test error per epoch, a
colour per row) and ``plots/<id>-denoised.png`` (denoised against clean
activations after training) for the rows with lateral pairs.
"""

import argparse
import json
import math
import os
import pathlib
import statistics
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from mnistbench.run import environment, run_job, trained_at  # noqa: E402

# labels -> (the full ladder's lambdas at depth 0, depth 1 and every depth above, the layers' noise std, the
# Gamma-model's lambda): the paper's (on 784-1000-500-250-250-250-10, 100 labels: 1000, 10, 0.1, 0.1, 0.1, 0.1, 0.1).
PAPER_SETTINGS = {
    "100": ((1000, 10, 0.1), 0.3, 0.5),
    "1000": ((2000, 20, 0.1), 0.2, 10.0),
    "all": ((1000, 1, 0.01), 0.3, 2.0),
}
# The input's noise at every label count: the reference code's `--super-noise-std`, which its README's commands never
# change (the second field of PAPER_SETTINGS is `--f-local-noise-std`, the layers' noise).
INPUT_NOISE = 0.3
# The Gamma-model's noise at every label count: the reference code's default (its README's commands set 0.2 for the
# full ladder at 1,000 labels only). Its supervised baseline uses 0.5; the supervised row here keeps the ladder's
# noise, so that it differs from the ladder by the decoder alone.
GAMMA_NOISE = 0.3
PAPER_ERRORS = {  # test error (%) reported by the papers, by row and labels
    ("ladder", "100"): "1.06 ± 0.37", ("ladder", "1000"): "0.84 ± 0.08", ("ladder", "all"): "0.57 ± 0.02",
    ("ladder_amlp", "100"): "1.0", ("ladder_amlp", "1000"): "0.97", ("ladder_amlp", "all"): "0.57",
}
ROWS = ("supervised", "consistency", "gamma", "ladder", "ladder_amlp")
ENCODER = [1000, 500, 250, 250, 250]
LOCAL = ("workdir", "data_dir", "plots")  # where a job runs, not what it is
STATISTICS = ("test_error: batch-norm statistics recomputed after each epoch as the exact mean and variance over the "
              "run's training digits (LadderNetwork.recompute_statistics); test_error_running: the running averages "
              "of the clean pass's unlabelled rows that training keeps (momentum 0.99)")


def model_kwargs(row, labels, encoder):
    """LadderNetwork arguments of a table row at a label count (the paper's settings for that count)."""
    (first, second, rest), layer_noise, gamma = PAPER_SETTINGS[labels]
    lambdas = [first, second] + [rest] * len(encoder)
    noise = [INPUT_NOISE] + [layer_noise] * (len(encoder) + 1)  # x, each hidden layer, the classifier
    return {
        "supervised": {"pairing": None, "noise_std": noise},
        "consistency": {"pair_kind": "consistency", "noise_std": 0.0, "consistency_weight": 1.0},
        "gamma": {"pairing": "top", "denoising_weight": gamma, "noise_std": GAMMA_NOISE},
        "ladder": {"denoising_weight": lambdas, "noise_std": noise},
        "ladder_amlp": {"denoising_weight": lambdas, "noise_std": noise, "combinator": "amlp"},
    }[row]


def learning_rate(steps_per_epoch, epochs, rate=2e-3, decay_from=2 / 3):
    """Adam's rate: `rate`, then linear to 0 over the last (1 - decay_from) of the epochs (the paper's schedule)."""
    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="mnist_ladder")
    class HoldThenDecay(keras.optimizers.schedules.LearningRateSchedule):
        def __init__(self, rate, total, start):
            self.rate, self.total, self.start = rate, total, start

        def __call__(self, step):
            left = (self.total - ops.cast(step, "float32")) / max(self.total - self.start, 1)
            return self.rate * ops.clip(left, 0.0, 1.0)

        def get_config(self):
            return {"rate": self.rate, "total": self.total, "start": self.start}

    total = steps_per_epoch * epochs
    return HoldThenDecay(rate, total, int(total * decay_from))


def settings(job):
    """What a job is (what its saved result must match), without where it runs."""
    return {k: v for k, v in job.items() if k not in LOCAL}


def run_id(job):
    """E.g. ``ladder-100-draw0-150ep``; ``-<N>rows`` on a training subset."""
    rows = f"-{job['train_rows']}rows" if job["train_rows"] else ""
    return f"{job['row']}-{job['labels']}-draw{job['draw']}-{job['epochs']}ep{rows}"


def run_one(job, callbacks=()):
    """One run, resumable from job["workdir"]; returns the JSON-able result.

    `callbacks` run after the ones that save its state (the tests kill a run with one).
    """
    import keras
    import numpy as np

    import ladderae
    from ladderae import ladder_plots, pipeline
    from ladderae.data.mnist import load_mnist

    workdir = pathlib.Path(job["workdir"])
    workdir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(job["draw"])
    (x, y), (x_test, y_test) = load_mnist(job["data_dir"])
    if job["train_rows"]:
        x, y = x[: job["train_rows"]], y[: job["train_rows"]]
    labelled = np.arange(len(y)) if job["labels"] == "all" else ladderae.balanced_labels(y, int(job["labels"]),
                                                                                        seed=job["draw"])
    data = ladderae.SemiSupervisedBatches(x[labelled], y[labelled], x, batch_size=job["batch_size"], seed=job["draw"])
    model = ladderae.LadderNetwork(784, encoder=job["encoder"], seed=job["draw"], **model_kwargs(job["row"],
                                                                                                job["labels"],
                                                                                                job["encoder"]))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate(len(data), job["epochs"])))

    class TestErrorAndTime(keras.callbacks.Callback):
        """Each epoch's wall time (training only) and test errors, into its logs (and so the CSV)."""

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs["epoch_seconds"] = time.perf_counter() - self.start
            logs["test_error_running"] = test_error()  # the running averages training kept
            model.recompute_statistics(x, batch_size=1000)  # the population's, over the run's training digits
            logs["test_error"] = test_error()

    def test_error():
        probabilities = model.predict(x_test, batch_size=1000, verbose=0)
        return float(np.mean(probabilities.argmax(1) != y_test))

    history_csv = workdir / "history.csv"
    training = trained_at(workdir, len(read_history(history_csv)["test_error"]) if history_csv.exists() else 0,
                          job["epochs"])
    # shuffle=False: the batches shuffle themselves, keyed to the restored step (EpochSync).
    model.fit(data, epochs=job["epochs"], verbose=2, shuffle=False, callbacks=[
        TestErrorAndTime(), keras.callbacks.CSVLogger(str(history_csv), append=True),
        keras.callbacks.BackupAndRestore(str(workdir / "backup"), delete_checkpoint=False),
        pipeline.EpochSync(data), *callbacks])
    if job.get("plots") and "lateral" in model.get_config()["pair_kind"]:
        ladder_plots.denoised_activations(model, data[0][0], path=pathlib.Path(job["plots"]) /
                                          f"{run_id(job)}-denoised.png")
    history = read_history(history_csv)
    seconds = statistics.median(history["epoch_seconds"])
    rows_per_epoch = len(data) * (data.batch_size + data.labelled_batch_size)
    return {"job": settings(job),
            "backend": keras.backend.backend(), "test_error": history["test_error"][-1],
            "test_error_per_epoch": history["test_error"], "statistics": STATISTICS,
            "test_error_running": history["test_error_running"][-1],
            "test_error_running_per_epoch": history["test_error_running"], "seconds_per_epoch": seconds,
            "examples_per_second": rows_per_epoch / seconds, "epochs_run": len(history["test_error"]),
            "trained_at": training, "environment": environment()}


def read_history(path):
    """Per-column lists from the epoch CSV; an epoch logged twice (killed between log and backup) counts once;
    columns CSVLogger fills with "NA" are left out."""
    import csv

    with open(path, newline="") as f:
        by_epoch = {int(row.pop("epoch")): row for row in csv.DictReader(f)}
    rows = [by_epoch[e] for e in sorted(by_epoch)]
    return {key: [float(row[key]) for row in rows] for key in rows[0] if rows[0][key] != "NA"}


def check_workdir(workdir, job):
    """Record `job`'s settings in a new `workdir`; refuse one that a job with other settings left behind."""
    saved = workdir / "job.json"
    if saved.exists() and json.loads(saved.read_text()) != settings(job):
        raise RuntimeError(f"{workdir} holds a run with other settings ({saved.read_text()}): resuming it would mix "
                           "budgets. Delete that folder or pass another --out.")
    workdir.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(settings(job)))


def run_or_resume(job, out, log):
    """The saved result of `job` if it has one with the same settings, else a subprocess that trains it."""
    name = run_id(job)
    path = out / "runs" / f"{name}.json"
    if path.exists() and json.loads(path.read_text())["job"] == settings(job):
        return json.loads(path.read_text())
    for folder in ("runs", "logs", "work", "plots"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    job = {**job, "workdir": str(out / "work" / name), "plots": str(out / "plots")}
    log(f"{name}: {'resuming' if (out / 'work' / name / 'history.csv').exists() else 'starting'}")
    check_workdir(pathlib.Path(job["workdir"]), job)
    status = run_job(pathlib.Path(__file__).resolve(), job, job["backend"], out / "logs" / f"{name}.log")
    if status:
        raise RuntimeError(f"{name} failed (exit {status}); see {out / 'logs' / f'{name}.log'}")
    result = json.loads((pathlib.Path(job["workdir"]) / "result.json").read_text())
    path.write_text(json.dumps(result))
    log(f"{name}: test error {100 * result['test_error']:.2f}%, {result['seconds_per_epoch']:.1f} s/epoch")
    return result


FORWARD, WEIGHT_GRADIENT, BOTH_GRADIENTS = 0, 1, 2  # the backward products a step computes for a product


def step_products(network, labelled, unlabelled):
    """``(inner, out, rows, backward)`` for each matrix product of a training step (of a model's `LadderNodes`:
    the layers on its ``training_path``) on `labelled` + `unlabelled`
    rows (a batch in parts; a mixed batch: ``labelled=0`` and every row unlabelled), `backward` the backward
    products it also computes (`FORWARD` only, `WEIGHT_GRADIENT`, `BOTH_GRADIENTS`):

    - encoder, labelled rows: the corrupted pass, through the cross-entropy, with gradients; the clean pass
      feeds only the training accuracy, forward alone;
    - encoder, unlabelled rows: with pairs, both passes with gradients (the denoising costs read the corrupted
      pass through the decoder and the clean pass as their targets); without pairs only the clean pass runs,
      forward, for the running statistics (nothing reads the corrupted one, so it is not computed);
    - decoder: on the unlabelled rows, with gradients;
    - the first layer computes no input gradient (its input is the data).
    """
    from ladderae import graph as graph_lib

    g = network.graph
    paired = bool(network.pairs)
    encoder_passes = [(labelled, BOTH_GRADIENTS), (labelled, FORWARD)]
    encoder_passes += [(unlabelled, BOTH_GRADIENTS)] * 2 if paired else [(unlabelled, FORWARD)]
    products = []
    for node in network.training_path:
        if g.nodes[node]["layer"] != "dense":
            continue
        below, units = graph_lib.layer_input_shape(g, node)[0], g.nodes[node]["units"]
        first = graph_lib.flow_predecessor(g, node) == graph_lib.INPUT
        passes = encoder_passes if g.nodes[node]["role"] in ("encoder", "latent") else [(unlabelled, BOTH_GRADIENTS)]
        products += [(below, units, rows, min(backward, WEIGHT_GRADIENT) if first else backward)
                     for rows, backward in passes if rows]
    return products


def matmul_floor_seconds(products):
    """Best time of one step's matrix products on this backend (`step_products`: each forward and the backward
    ones the step computes, jitted)."""
    from mnistbench.floor import compiled_products_seconds, product_shapes

    return compiled_products_seconds([shape for inner, out, rows, backward in products
                                      for shape in product_shapes(rows, inner, out, backward)])


def speed(args, log):
    """Seconds per training step of the full ladder on batches of 100 labelled + 100 unlabelled digits (in parts,
    as `fit` gives a `SemiSupervisedBatches`; the best of 3 timed epochs), beside its matmul floor."""
    import keras
    import numpy as np
    from mnistbench.floor import best_seconds

    import ladderae

    model = ladderae.LadderNetwork(784, encoder=args.encoder, seed=0, **model_kwargs("ladder", "100", args.encoder))
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    rng = np.random.default_rng(0)
    x_labelled, y_labelled = rng.random((args.batch_size, 784), dtype=np.float32), np.arange(args.batch_size) % 10
    data = ladderae.SemiSupervisedBatches(x_labelled, y_labelled,
                                          rng.random((args.batch_size * args.speed_steps, 784), dtype=np.float32),
                                          batch_size=args.batch_size)
    # The best of 3 epochs after one that compiles, as the floor is the best of its trials.
    step = best_seconds(lambda: model.fit(data, epochs=1, verbose=0, shuffle=False), trials=3) / args.speed_steps
    floor = matmul_floor_seconds(step_products(model.network, args.batch_size, args.batch_size))
    batch = 2 * args.batch_size
    result = {"backend": keras.backend.backend(), "load_average": os.getloadavg()[0], "cores": os.cpu_count(),
              "rows_per_step": batch, "step_seconds": step,
              "floor_seconds": floor, "ratio_to_floor": step / floor,
              "seconds_per_epoch": step * 60000 / args.batch_size, "examples_per_second": batch / step}
    log(f"speed ({result['backend']}, load {result['load_average']:.1f} on {result['cores']} cores): {1000 * step:.1f} ms/step, floor {1000 * floor:.1f} ms "
        f"(x{step / floor:.2f}), {result['seconds_per_epoch']:.0f} s/epoch, {result['examples_per_second']:.0f} rows/s")
    return result


def budget(job):
    """The training budget of a run, as the table states it next to its figure."""
    digits = f"{job['train_rows']:,}" if job["train_rows"] else "60,000"
    net = "" if job["encoder"] == ENCODER else f", net 784-{'-'.join(map(str, job['encoder']))}-10"
    return f"{job['epochs']} epoch{'s' * (job['epochs'] > 1)}, {digits} digits{net}"


def step_floor(job, out):
    """The matmul floor (seconds) of one training step of `job`'s model at its batch, measured once and kept in
    ``out/floors/``: the same products `speed` times, with the decoder on every row of the batch for a row that
    trains on mixed batches (consistency pairs read every row)."""
    import ladderae

    name = f"{job['row']}-{job['labels']}-b{job['batch_size']}-{'-'.join(map(str, job['encoder']))}.json"
    path = out / "floors" / name
    if not path.exists():
        model = ladderae.LadderNetwork(784, encoder=job["encoder"], seed=0,
                                       **model_kwargs(job["row"], job["labels"], job["encoder"]))
        batch = job["batch_size"]
        products = step_products(model.network, batch, batch) if model.network.trains_parts_apart else step_products(
            model.network, 0, 2 * batch)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"floor_seconds": matmul_floor_seconds(products), "products": products}))
    return json.loads(path.read_text())["floor_seconds"]


def x_floor(result, out):
    """A run's s/epoch over its floor's: the step floor times the steps of an epoch (one per unlabelled batch)."""
    job = result["job"]
    steps = math.ceil((job["train_rows"] or 60000) / job["batch_size"])
    return result["seconds_per_epoch"] / (steps * step_floor(job, out))


def markdown(results, out):
    """The table: mean ± sd of the test error over draws per row, label count and budget, beside the papers'."""
    lines = ["Test error on all 10,000 test digits after the last epoch (batch-norm statistics recomputed over the "
             "training digits), mean ± sd over label draws (each draw a "
             "different balanced labelled set and seed); the learning rate decays linearly to 0 over the last third "
             "of each run's epochs. Paper: Rasmus et al. 2015 (ladder, 150 epochs; the widely quoted table), "
             "Pezeshki et al. 2016 (ladder_amlp, their augmented-MLP combinator). s/epoch: training alone, timed in "
             "the row's fastest run (other jobs shared the cores during some runs, which only adds time; `--speed` "
             "times a step with them free); x floor: that s/epoch "
             "over an epoch of the row's matmul floor (the products a step computes, each forward and the backward ones "
             "where a gradient flows, jitted, best of 5; `floors/`).", "",
             "| row | labels | draws | budget | test error (%) | paper (%) | s/epoch | examples/s | x floor |",
             "|---|---|---|---|---|---|---|---|---|"]
    groups = {}
    for r in results:
        groups.setdefault((r["job"]["row"], r["job"]["labels"], budget(r["job"])), []).append(r)
    for (row, labels, spent), runs in sorted(groups.items(), key=lambda item: (ROWS.index(item[0][0]), item[0][1:])):
        errors = [100 * r["test_error"] for r in runs]
        fastest = min(runs, key=lambda r: r["seconds_per_epoch"])
        spread = f" ± {statistics.stdev(errors):.2f}" if len(errors) > 1 else ""
        lines.append(f"| {row} | {labels} | {len(runs)} | {spent} | "
                     f"{statistics.mean(errors):.2f}{spread} | {PAPER_ERRORS.get((row, labels), '')} | "
                     f"{fastest['seconds_per_epoch']:.1f} | {fastest['examples_per_second']:.0f} | "
                     f"{x_floor(fastest, out):.2f} |")
    return "\n".join(lines)


def error_plots(results, folder):
    """``test-error-<labels>.png`` per label count: each run's test error per epoch, a colour per row."""
    from ladderae import ladder_plots

    for labels in dict.fromkeys(r["job"]["labels"] for r in results):
        runs = [r for r in results if r["job"]["labels"] == labels]
        curves = {}
        for r in sorted(runs, key=lambda r: ROWS.index(r["job"]["row"])):
            curves.setdefault(r["job"]["row"], []).append(r["test_error_per_epoch"])
        title = f"{labels} labels, {budget(runs[0]['job'])}: test error on all 10,000 test digits per epoch"
        ladder_plots.error_curves(curves, path=pathlib.Path(folder) / f"test-error-{labels}.png", title=title)


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--labels", nargs="+", default=["100"], choices=sorted(PAPER_SETTINGS))
    p.add_argument("--rows", nargs="+", default=list(ROWS), choices=ROWS)
    p.add_argument("--draws", type=int, default=3, help="label draws (each also seeds its run)")
    p.add_argument("--epochs", type=int, default=150)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--encoder", type=int, nargs="+", default=ENCODER)
    p.add_argument("--train-rows", type=int, default=0, help="use only the first N training digits (0: all)")
    p.add_argument("--backend", default="jax", choices=["jax", "tensorflow"])
    p.add_argument("--data-dir", default=os.environ.get("LADDERAE_DATA"))
    p.add_argument("--out", default=str(HERE / "results" / "ladder"))
    p.add_argument("--speed", action="store_true", help="only time training steps against the matmul floor")
    p.add_argument("--speed-steps", type=int, default=50)
    p.add_argument("--report", action="store_true",
                   help="train nothing: tabulate every finished run in --out (runs/*.json), whatever its budget")
    p.add_argument("--quick", action="store_true", help="every row, 1 epoch on 1,000 digits, a small net (tests)")
    p.add_argument("--_run", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    for name in ("epochs", "draws", "batch_size"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.quick:
        args.epochs, args.draws, args.train_rows, args.encoder, args.speed_steps = 1, 1, 1000, [32, 16], 5
    return args


def planned_jobs(args):
    """The runs the arguments ask for: per label count, per draw, per row."""
    return [{"row": row, "labels": labels, "draw": draw, "epochs": args.epochs, "encoder": args.encoder,
             "batch_size": args.batch_size, "train_rows": args.train_rows, "backend": args.backend,
             "data_dir": args.data_dir}
            for labels in args.labels for draw in range(args.draws) for row in args.rows]


def main(argv=None):
    args = parse(argv)
    if args._run:
        job = json.loads(args._run)
        result = run_one(job)
        (pathlib.Path(job["workdir"]) / "result.json").write_text(json.dumps(result))
        return 0
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log_file = open(out / "log.txt", "a")

    def log(line):
        print(line, flush=True)
        log_file.write(line + "\n")
        log_file.flush()

    if args.speed or args.quick:
        result = speed(args, log)
        (out / f"speed-{result['backend']}.json").write_text(json.dumps(result, indent=1))
        if args.speed:
            return 0
    if args.report:
        results = [json.loads(path.read_text()) for path in sorted((out / "runs").glob("*.json"))]
        if not results:
            raise SystemExit(f"--report: no finished run in {out / 'runs'}; train some first (or pass --out).")
    else:
        results = [run_or_resume(job, out, log) for job in planned_jobs(args)]
    (out / "results.json").write_text(json.dumps(results, indent=1))
    table = markdown(results, out)
    error_plots(results, out / "plots")
    (out / "results.md").write_text(table + "\n")
    log(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
