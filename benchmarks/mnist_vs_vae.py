"""ladderae against a plain Keras VAE on dynamically binarised MNIST: likelihood, latents, speed.

    python benchmarks/mnist_vs_vae.py --out benchmarks/results            # the full run (2.5 hours on 2 cores)
    python benchmarks/mnist_vs_vae.py --quick --out /tmp/bench            # every row, tiny budget (tests)

Protocol (as in the VAE/IWAE literature): training digits binarised afresh
every epoch, the test set binarised once with a fixed seed; the same layer
sizes, optimiser (Adam 1e-3), batch size, epochs and input pipeline for every
row; numbers in nats per example. The baseline (`baseline_vae.py`) shares no
model code with ladderae; the row "ladderae, no pairs" must agree with it.

Each pair mode's weight is chosen by a sweep on a validation split (the last
10,000 training digits, trained on the first 50,000), never on the test set.
Every run is a subprocess on its own backend and writes one JSON file, so an
interrupted run resumes where it stopped. Outputs: results.json (every run,
config, versions, machine), results.md (the tables) and per-row plots.
"""

import argparse
import datetime
import json
import math
import os
import pathlib
import platform
import resource
import statistics
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent

PRESETS = {
    "wide": {"input_shape": [784], "encoder": [512, 256], "latent_dim": 32, "activation": "relu"},
    "iwae": {"input_shape": [784], "encoder": [200, 200], "latent_dim": 50, "activation": "tanh"},
    # The keras.io convolutional VAE (3x3 kernels, stride 2, "same") at half its filters, so that one epoch costs
    # about what a wide epoch costs, with the wide latent size: 28x28x1 -> 14x14x16 -> 7x7x32 -> 256 -> 32.
    "conv": {"input_shape": [28, 28, 1], "conv": [16, 32], "encoder": [256], "latent_dim": 32, "activation": "relu"},
}

# Pair modes with the consistency loss the README recommends for each.
MODES = {
    "none": {"stop_gradient": "none", "consistency_loss": "normalized_mse"},
    "encoder": {"stop_gradient": "encoder", "consistency_loss": "mse"},
    "decoder": {"stop_gradient": "decoder", "consistency_loss": "normalized_mse"},
    "local": {"stop_gradient": "local", "consistency_loss": "mse"},
}
BASELINE = "plain VAE (Keras, baseline)"
NO_PAIRS = "ladderae, no pairs"
WARMUP_EPOCHS = 2  # KL warm-up length of the warm-up rows


def rows(best_mode):
    """Row name -> (kind, ladderae kwargs or None, pair mode whose swept weight it uses or None)."""
    best = dict(MODES[best_mode])
    table = {
        BASELINE: ("baseline", None, None),
        NO_PAIRS: ("ladderae", {"pairing": "none"}, None),
    }
    for mode, kwargs in MODES.items():
        table[f"mirror, {mode}"] = ("ladderae", dict(kwargs), mode)
    table["tied, no pair loss"] = ("ladderae", {"tied_weights": True, "consistency_weight": 0.0}, None)
    table[f"tied + mirror, {best_mode}"] = ("ladderae", {"tied_weights": True, **best}, best_mode)
    table["no pairs + KL warm-up"] = ("ladderae", {"pairing": "none", "warmup": True}, None)
    table[f"mirror, {best_mode} + KL warm-up"] = ("ladderae", {**best, "warmup": True}, best_mode)
    return table


# --------------------------------------------------------------------------- one run


def _build(spec, steps_per_epoch):
    import keras

    preset = PRESETS[spec["preset"]]
    if spec["kind"] == "baseline":
        from baseline_vae import VAE

        model = VAE(preset["encoder"], preset["latent_dim"], preset["activation"], seed=spec["seed"],
                    input_shape=preset["input_shape"], conv=preset.get("conv", ()))
    else:
        import ladderae

        kwargs = dict(spec["kwargs"])
        if kwargs.pop("warmup", False):
            kwargs["beta"] = ladderae.LinearWarmup(WARMUP_EPOCHS * steps_per_epoch)
        model = ladderae.LadderAE(seed=spec["seed"], **preset, **kwargs)
    model.compile(optimizer=keras.optimizers.Adam(spec["learning_rate"]))
    return model


def run_one(spec):
    """Train one row with one seed on one backend and score it; returns a JSON-able dict."""
    import keras

    from ladderae import datasets, evaluate, pipeline, plots
    from ladderae.training import EpochTimer, mnist_splits

    keras.utils.set_random_seed(spec["seed"])
    (x_train, y_train), (x_test, y_test) = mnist_splits(spec["data_dir"])
    if spec["validation"]:  # model selection: train on 50k, score on the last 10k training digits
        x_test, y_test = datasets.binarize(x_train[50000:], seed=1), y_train[50000:]
        x_train, y_train = x_train[:50000], y_train[:50000]
    x_train, y_train = x_train[: spec["train_size"]], y_train[: spec["train_size"]]
    x_test, y_test = x_test[: spec["test_size"]], y_test[: spec["test_size"]]
    image = PRESETS[spec["preset"]]["input_shape"]  # (784,) or (28, 28, 1)
    x_train, x_test = x_train.reshape(-1, *image), x_test.reshape(-1, *image)

    data = pipeline.DynamicBinarization(x_train, spec["batch_size"], seed=spec["seed"])
    model = _build(spec, len(data))
    timer = EpochTimer()
    start = time.perf_counter()
    history = model.fit(data, epochs=spec["epochs"], verbose=0, callbacks=[timer])
    train_seconds = time.perf_counter() - start
    own = model.evaluate(x_test, batch_size=1000, verbose=0, return_dict=True)
    result = {
        "spec": spec,
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        "epoch_seconds": timer.seconds,
        "train_seconds": train_seconds,
        "own_neg_elbo": float(own["neg_elbo"] if "neg_elbo" in own else own["loss"]),
        "parameters": int(sum(math.prod(v.shape) for v in model.trainable_variables)),
    }
    # Throughput from epochs after the first (which includes compilation).
    steady = timer.seconds[1:] or timer.seconds
    result["examples_per_second"] = len(x_train) / statistics.median(steady)
    result["median_epoch_seconds"] = statistics.median(steady)
    if spec["speed_only"]:
        pass
    elif spec["validation"]:
        result.update(evaluate.elbo(model, x_test, seed=spec["seed"]))
    else:
        probe_x = datasets.binarize(x_train[: spec["probe_size"]], seed=1)
        result.update(evaluate.report(model, x_test, y_test, probe_x, y_train[: spec["probe_size"]],
                                      k=spec["iwae_k"], iwae_images=spec["iwae_images"], seed=0, verbose=0))
        result.pop("knn_accuracy", None)  # the table reports the linear probe; kNN is in `ladderae evaluate`
        if spec["seed"] == 0 and spec["plots"]:
            folder = pathlib.Path(spec["out"]).parent.parent / "plots"
            tag = pathlib.Path(spec["out"]).stem
            plots.history(result["history"], path=folder / f"{tag}_history.png")
            plots.reconstructions(model, x_test, path=folder / f"{tag}_reconstructions.png", image_shape=(28, 28))
    result["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


# --------------------------------------------------------------------------- the compute floor


def dense_shapes(preset):
    p = PRESETS[preset]
    widths = [784, *p["encoder"]]
    encoder = list(zip(widths[:-1], widths[1:])) + [(widths[-1], p["latent_dim"])] * 2  # mean and log-var heads
    decoder_widths = [p["latent_dim"], *reversed(p["encoder"]), 784]
    return encoder + list(zip(decoder_widths[:-1], decoder_widths[1:]))


def training_flops_per_example(preset):
    """6 x multiply-adds: forward (2 FLOP per multiply-add) plus backward (about twice the forward)."""
    return 6 * sum(i * o for i, o in dense_shapes(preset))


def matmul_gflops(preset, batch=128, repeats=30):
    """The machine's float32 matrix-multiply rate at this model's shapes (NumPy/OpenBLAS), forward and backward."""
    import numpy as np

    rng = np.random.default_rng(0)
    flops, seconds = 0, 0.0
    for i, o in dense_shapes(preset):
        for a_shape, b_shape in (((batch, i), (i, o)), ((batch, o), (o, i)), ((i, batch), (batch, o))):
            a, b = rng.random(a_shape, dtype=np.float32), rng.random(b_shape, dtype=np.float32)
            a @ b
            start = time.perf_counter()
            for _ in range(repeats):
                a @ b
            seconds += time.perf_counter() - start
            flops += 2 * a_shape[0] * a_shape[1] * b_shape[1] * repeats
    return flops / seconds / 1e9


# --------------------------------------------------------------------------- the driver


def _spec(args, preset, row, kind, kwargs, backend, seed, *, validation=False, speed_only=False, epochs=None):
    return {
        "preset": preset, "row": row, "kind": kind, "kwargs": kwargs, "backend": backend, "seed": seed,
        "epochs": epochs or args.epochs, "batch_size": args.batch_size, "learning_rate": 1e-3,
        "train_size": args.train_size, "test_size": args.test_size, "probe_size": args.probe_size,
        "iwae_k": args.iwae_k, "iwae_images": args.iwae_images, "data_dir": args.data_dir,
        "validation": validation, "speed_only": speed_only, "plots": not speed_only,
    }


def _slug(*parts):
    text = "_".join(str(p) for p in parts).lower()
    return "".join(c if c.isalnum() else "-" for c in text).strip("-")


class Runner:
    """Runs specs (in subprocesses on their backend, or in-process for --quick), resuming from saved JSON."""

    def __init__(self, out, in_process, log):
        self.folder = out / "runs"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.in_process, self.log, self.done = in_process, log, 0

    def __call__(self, spec, run_id, total):
        path = self.folder / f"{run_id}.json"
        self.done += 1
        label = f"[{self.done}/{total}] {spec['preset']} | {spec['row']} | {spec['backend']} | seed {spec['seed']}"
        spec = {**spec, "out": str(path)}
        if path.exists():
            saved = json.loads(path.read_text())
            if saved["spec"] == spec:  # resume only what was planned the same way (weights, budget, sizes)
                return saved
            self.log(f"{label}: saved run has other settings, running again")
        start = time.perf_counter()
        if self.in_process:
            result = run_one(spec)
        else:
            env = {**os.environ, "KERAS_BACKEND": spec["backend"], "TF_CPP_MIN_LOG_LEVEL": "3"}
            proc = subprocess.run([sys.executable, __file__, "--_run", json.dumps(spec)], env=env, cwd=HERE,
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"{label} failed:\n{proc.stderr[-3000:]}")
            result = json.loads(proc.stdout.strip().splitlines()[-1])
        result["wall_seconds"] = time.perf_counter() - start
        path.write_text(json.dumps(result))
        shown = result.get("neg_elbo")
        self.log(f"{label}: {result['wall_seconds']:.0f} s" + (f", -ELBO {shown:.2f}" if shown else "")
                 + f", {result['median_epoch_seconds']:.2f} s/epoch")
        return result


def plan_sweep(args):
    weights = args.weight and [args.weight] or args.sweep_weights
    return [(_spec(args, "wide", f"sweep {mode} w={w}", "ladderae", {**kwargs, "consistency_weight": w},
                   args.main_backend, 0, validation=True, epochs=args.sweep_epochs), _slug("sweep", mode, w))
            for mode, kwargs in MODES.items() for w in weights]


def choose(sweep_results):
    """Best weight per mode (validation -ELBO), and the best mode overall."""
    best = {}
    for r in sweep_results:
        mode = r["spec"]["kwargs"]["stop_gradient"]
        if mode not in best or r["neg_elbo"] < best[mode]["neg_elbo"]:
            best[mode] = {"weight": r["spec"]["kwargs"]["consistency_weight"], "neg_elbo": r["neg_elbo"]}
    best_mode = min(best, key=lambda m: best[m]["neg_elbo"])
    return best, best_mode


def plan_main(args, weights, best_mode):
    table = rows(best_mode)
    both_backends = {BASELINE, NO_PAIRS, f"mirror, {best_mode}"}
    out = []
    for preset in args.presets:
        names = list(table) if preset == args.presets[0] else [BASELINE, NO_PAIRS, f"mirror, {best_mode}"]
        for name in names:
            kind, kwargs, mode = table[name]
            kwargs = None if kwargs is None else {**kwargs, **({"consistency_weight": weights[mode]["weight"]}
                                                               if mode else {})}
            if kind == "baseline":
                backends = ["tensorflow"]
            elif preset == args.presets[0] and name in both_backends:
                backends = list(args.backends)
            else:
                backends = [args.main_backend]
            for backend in backends:
                for seed in range(args.seeds):
                    out.append((_spec(args, preset, name, kind, kwargs, backend, seed), _slug(preset, name, backend, seed)))
    return out


def plan_speed(args, weights):
    configs = [(BASELINE, "baseline", None, "tensorflow"), (NO_PAIRS, "ladderae", {"pairing": "none"}, "tensorflow")]
    configs += [(NO_PAIRS, "ladderae", {"pairing": "none"}, b) for b in args.backends if b != "tensorflow"]
    configs += [(f"mirror, {m}", "ladderae", {**kw, "consistency_weight": weights[m]["weight"]}, args.main_backend)
                for m, kw in MODES.items()]
    return [(_spec(args, "wide", name, kind, kwargs, backend, r, speed_only=True, epochs=1 + args.speed_epochs),
             _slug("speed", r, name, backend))
            for r in range(args.speed_rounds) for name, kind, kwargs, backend in configs]


def _mean_std(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return (statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0)


FIGURES = ["neg_elbo", "own_neg_elbo", "iwae_nll", "kl", "reconstruction", "active_units",
           "linear_probe_accuracy", "parameters", "examples_per_second", "median_epoch_seconds", "peak_memory_mb"]


def summarize(results):
    groups = {}
    for r in results:
        s = r["spec"]
        groups.setdefault((s["preset"], s["row"], s["backend"]), {})[s["seed"]] = r
    summary = []
    for (preset, row, backend), by_seed in groups.items():
        base = groups.get((preset, BASELINE, "tensorflow"), {})
        entry = {"preset": preset, "row": row, "backend": backend, "seeds": len(by_seed),
                 "epochs": next(iter(by_seed.values()))["spec"]["epochs"],
                 "iwae_k": next(iter(by_seed.values())).get("iwae_k"),
                 "iwae_images": next(iter(by_seed.values())).get("iwae_images")}
        for fig in FIGURES:
            entry[fig] = _mean_std([r.get(fig) for r in by_seed.values()])
        for fig in ("neg_elbo", "iwae_nll"):
            entry[f"delta_{fig}"] = _mean_std([r[fig] - base[seed][fig] for seed, r in by_seed.items() if seed in base])
        summary.append(entry)
    return summary


def _fmt(pair, digits=2):
    if pair is None:
        return "n/a"
    mean, std = pair
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def markdown(report):
    s = report["settings"]
    lines = [f"# ladderae vs a plain VAE on binarised MNIST ({report['date']})", "",
             f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores; "
             f"{report['versions']}. Command: `{report['command']}`.", "",
             f"Budget: {s['epochs']} epochs at batch {s['batch_size']} (Adam 1e-3) on {s['train_size']} training "
             f"digits; {s['seeds']} seeds per row; test figures on {s['test_size']} test digits; IWAE with "
             f"k={s['iwae_k']} on the first {s['iwae_images']} of them; linear probe trained on the latent means of "
             f"{s['probe_size']} training digits. ± is the standard deviation over seeds; Δ is the paired "
             "difference to the baseline with the same seed (negative = ladderae better).", ""]
    lines += ["## Pair weight sweep (validation -ELBO, first seed, "
              f"{s['sweep_epochs']} epochs, train 50k / validate 10k)", "", "| mode | weight | validation -ELBO |",
              "|---|---|---|"]
    for r in report["sweep"]:
        lines.append(f"| {r['spec']['kwargs']['stop_gradient']} | {r['spec']['kwargs']['consistency_weight']:g} "
                     f"| {r['neg_elbo']:.2f} |")
    lines += ["", "Chosen: " + ", ".join(f"{m} w={c['weight']:g}" for m, c in report["chosen"].items())
              + f"; best mode: **{report['best_mode']}**.", ""]
    header = ("| preset | row | backend | params | test -ELBO | own -ELBO | IWAE | KL | recon | active | probe acc "
              "| ex/s | s/epoch | peak MB | Δ -ELBO | Δ IWAE |")
    lines += ["## Results", "", header, "|" + "---|" * 16]
    for e in report["summary"]:
        lines.append(
            f"| {e['preset']} | {e['row']} | {e['backend']} | {int(e['parameters'][0]):,} | {_fmt(e['neg_elbo'])} "
            f"| {_fmt(e['own_neg_elbo'])} | {_fmt(e['iwae_nll'])} | {_fmt(e['kl'])} | {_fmt(e['reconstruction'])} "
            f"| {_fmt(e['active_units'], 1)} | {_fmt(e['linear_probe_accuracy'], 3)} "
            f"| {_fmt(e['examples_per_second'], 0)} | {_fmt(e['median_epoch_seconds'])} "
            f"| {_fmt(e['peak_memory_mb'], 0)} | {_fmt(e['delta_neg_elbo'])} | {_fmt(e['delta_iwae_nll'])} |")
    if report.get("speed"):
        sp = report["speed"]
        lines += ["", f"## Training speed (wide, batch {s['batch_size']}, {s['train_size']} digits per epoch)", "",
                  f"Paired: {s['speed_rounds']} rounds, each running every configuration once "
                  f"(1 warm-up epoch excluded, then {s['speed_epochs']} timed); ratio = examples/s over the "
                  "baseline's in the same round, median over rounds. Floor: "
                  f"{sp['flops_per_example'] / 1e6:.2f} MFLOP per training example at the measured "
                  f"{sp['matmul_gflops']:.0f} GFLOP/s (NumPy matmul at the model's shapes) = "
                  f"{sp['floor_seconds']:.2f} s per epoch.", "",
                  "| config | backend | median s/epoch | examples/s | ratio to baseline | x floor |",
                  "|---|---|---|---|---|---|"]
        for c in sp["configs"]:
            lines.append(f"| {c['row']} | {c['backend']} | {c['median_epoch_seconds']:.2f} "
                         f"| {c['examples_per_second']:.0f} | {c['ratio']:.2f}x | {c['x_floor']:.2f} |")
    return "\n".join(lines) + "\n"


def saved_matmul_gflops(folder, preset="wide"):
    """`matmul_gflops`, measured once and kept beside the speed runs, so a resumed run reports the same floor."""
    path = folder / f"floor-{preset}.json"
    if not path.exists():
        path.write_text(json.dumps({"preset": preset, "matmul_gflops": matmul_gflops(preset)}))
    return json.loads(path.read_text())["matmul_gflops"]


def summarize_speed(results, gflops, preset="wide"):
    by_round = {}
    for r in results:
        by_round.setdefault(r["spec"]["seed"], {})[(r["spec"]["row"], r["spec"]["backend"])] = r
    flops = training_flops_per_example(preset)
    train_size = results[0]["spec"]["train_size"]
    floor = train_size * flops / (gflops * 1e9)
    configs = []
    for key in by_round[0]:
        times = [rnd[key]["median_epoch_seconds"] for rnd in by_round.values() if key in rnd]
        ratios = [rnd[(BASELINE, "tensorflow")]["median_epoch_seconds"] / rnd[key]["median_epoch_seconds"]
                  for rnd in by_round.values() if key in rnd]
        median = statistics.median(times)
        configs.append({"row": key[0], "backend": key[1], "median_epoch_seconds": median,
                        "examples_per_second": train_size / median, "ratio": statistics.median(ratios),
                        "ratios": ratios, "x_floor": median / floor})
    return {"flops_per_example": flops, "matmul_gflops": gflops, "floor_seconds": floor, "configs": configs}


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}


def versions():
    import importlib.metadata as md

    return ", ".join(f"{p} {md.version(p)}" for p in ("keras", "tensorflow", "jax", "numpy") if _installed(p))


def _installed(package):
    import importlib.util

    return importlib.util.find_spec(package) is not None


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", default=str(HERE / "results"), help="output folder (resumes from its runs/)")
    p.add_argument("--quick", action="store_true", help="every row on a tiny budget, in-process (for the tests)")
    p.add_argument("--presets", nargs="+", default=["wide", "iwae", "conv"], choices=list(PRESETS),
                   help="the first gets every row (no-pair and best-pair rows on every backend), later ones the "
                   "baseline, no-pair and best-pair rows on the main backend")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--train-size", type=int, default=60000)
    p.add_argument("--test-size", type=int, default=10000)
    p.add_argument("--probe-size", type=int, default=10000, help="training digits the linear probe learns from")
    p.add_argument("--iwae-k", type=int, default=1000)
    p.add_argument("--iwae-images", type=int, default=1000)
    p.add_argument("--backends", nargs="+", default=["jax", "tensorflow"])
    p.add_argument("--main-backend", default="jax", help="backend of the rows run on one backend only")
    p.add_argument("--sweep-weights", type=float, nargs="+", default=[0.3, 3.0, 30.0])
    p.add_argument("--sweep-epochs", type=int, default=3)
    p.add_argument("--weight", type=float, default=None, help="skip the sweep and use this pair weight")
    p.add_argument("--speed-rounds", type=int, default=3, help="0 skips the speed section")
    p.add_argument("--speed-epochs", type=int, default=2)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--_run", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        import keras

        if keras.backend.backend() != "tensorflow":
            p.error("--quick runs every row in this process and the baseline is TensorFlow-only: "
                    "use KERAS_BACKEND=tensorflow")
        args.backends = args.main_backend = None
        args.backends, args.main_backend = ["tensorflow"], "tensorflow"
        args.seeds, args.epochs, args.train_size, args.test_size, args.probe_size = 2, 2, 256, 128, 128
        args.iwae_k, args.iwae_images, args.sweep_weights, args.sweep_epochs = 4, 16, [1.0, 10.0], 1
        args.speed_rounds, args.speed_epochs = 1, 1
    return args


def main(argv=None):
    args = parse(argv)
    if args._run:  # a single run in a subprocess: print its JSON on the last line
        sys.path.insert(0, str(HERE))
        print(json.dumps(run_one(json.loads(args._run))))
        return 0
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log_file = open(out / "log.txt", "a")

    def log(message):
        stamped = f"{datetime.datetime.now():%H:%M:%S} {message}"
        print(stamped, flush=True)
        log_file.write(stamped + "\n")
        log_file.flush()

    run = Runner(out, args.quick, log)
    sweep_plan = plan_sweep(args)
    sweep = [run(spec, run_id, len(sweep_plan)) for spec, run_id in sweep_plan]
    chosen, best_mode = choose(sweep)
    log(f"chosen weights: {chosen}; best mode: {best_mode}")
    main_plan = plan_main(args, chosen, best_mode)
    speed_plan = plan_speed(args, chosen) if args.speed_rounds else []
    run.done = 0
    results = [run(spec, run_id, len(main_plan) + len(speed_plan)) for spec, run_id in main_plan]
    speed = [run(spec, run_id, len(main_plan) + len(speed_plan)) for spec, run_id in speed_plan]

    report = {
        "date": f"{datetime.date.today()}", "command": "python benchmarks/mnist_vs_vae.py " + " ".join(argv or sys.argv[1:]),
        "machine": machine(), "versions": versions(), "settings": {k: v for k, v in vars(args).items() if k != "_run"},
        "sweep": sweep, "chosen": chosen, "best_mode": best_mode, "runs": results,
        "summary": summarize(results), "speed_runs": speed,
        "speed": summarize_speed(speed, saved_matmul_gflops(run.folder)) if speed else None,
    }
    (out / "results.json").write_text(json.dumps(report, indent=1))
    (out / "results.md").write_text(markdown(report))
    log(f"wrote {out / 'results.md'} and {out / 'results.json'}")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
