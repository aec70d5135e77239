"""One benchmark run, resumable after a kill, and the runner that reuses saved runs.

`run_one` trains one `RunSpec` and scores it. Training saves its state after
every epoch in a work folder (Keras `BackupAndRestore`: weights, optimizer with
its step, hence the learning-rate stage, and the models' sampling-noise state;
a CSV of the finished epochs), and each epoch's binarised training data are a
function of the optimizer step it starts at (`pipeline.EpochSync`), so a killed run started again continues from its last
finished epoch with the data, rates and noise of an uninterrupted run. The
`Runner` skips runs whose saved JSON has the planned spec and runs the others,
each in a subprocess on its own backend (or in this process for `--quick`).
"""

import csv
import functools
import json
import math
import os
import pathlib
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time

from mnistbench.spec import PRESETS, VALIDATION_SIZE, RunSpec, example_shape, warmup_epochs

BENCHMARKS = pathlib.Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=2)
def _mnist(data_dir):
    """MNIST as `datasets.load_mnist` gives it, read once per process (--quick runs every row in one), read-only."""
    from ladderae import datasets

    loaded = datasets.load_mnist(data_dir, flatten=False)
    for array in (a for pair in loaded for a in pair):
        array.flags.writeable = False
    return loaded


def load_data(spec):
    """Training and test (or validation) arrays shaped for the spec's preset, test digits binarised once.

    Returns ``(x_train, y_train), (x_test, y_test), image_shape``; the training
    digits stay grey levels (they are binarised afresh every epoch).
    """
    from ladderae import datasets
    from ladderae.cli.training import TEST_BINARIZATION_SEED

    (x_train, y_train), (x_test, y_test) = _mnist(spec.data_dir)
    test_seed = TEST_BINARIZATION_SEED
    if spec.validation:  # model selection: train on all but the last digits, score on those
        x_test, y_test = x_train[-VALIDATION_SIZE:], y_train[-VALIDATION_SIZE:]
        x_train, y_train = x_train[:-VALIDATION_SIZE], y_train[:-VALIDATION_SIZE]
        test_seed = 1
    image_shape = x_train.shape[1:]
    x_train, y_train = x_train[: spec.train_size], y_train[: spec.train_size]
    x_test, y_test = datasets.binarize(x_test[: spec.test_size], seed=test_seed), y_test[: spec.test_size]
    shape = example_shape(spec.preset, image_shape)
    return (x_train.reshape(-1, *shape), y_train), (x_test.reshape(-1, *shape), y_test), image_shape


def optimizer(spec, steps_per_epoch):
    """Adam at the spec's constant rate, or through the IWAE paper's stages; the spec's epsilon when given; with the
    LVAE code's gradient clipping (`clipping.ClippedAdam`) when the spec asks for it."""
    import keras

    from mnistbench.schedule import StagedLearningRate

    rate = spec.learning_rate
    if spec.stages is not None:
        rate = StagedLearningRate(steps_per_epoch, spec.stages, initial=spec.learning_rate)
    epsilon = {} if spec.adam_epsilon is None else {"epsilon": spec.adam_epsilon}
    if spec.clip_global_norm is None and spec.clip_value is None:
        return keras.optimizers.Adam(rate, **epsilon)  # Keras' betas (0.9, 0.999) are both papers'
    from mnistbench.clipping import ClippedAdam

    return ClippedAdam(rate, global_norm=spec.clip_global_norm, value=spec.clip_value, **epsilon)


def build_model(spec, input_shape, steps_per_epoch):
    preset = PRESETS[spec.preset]
    if spec.kind == "baseline":
        from baseline_vae import VAE

        model = VAE(input_shape, preset["encoder"], preset["latent_dim"], preset["activation"], seed=spec.seed,
                    conv=preset.get("conv", ()))
    else:
        import ladderae

        kwargs = dict(spec.kwargs)
        warmup = warmup_epochs(kwargs.pop("warmup", False))  # the row's KL warm-up, in epochs
        if warmup:
            kwargs["beta"] = ladderae.LinearWarmup(warmup * steps_per_epoch)
        model = ladderae.LadderAE(input_shape=input_shape, seed=spec.seed, **{**preset, **kwargs})  # a row's sizes win
    model.compile(optimizer=optimizer(spec, steps_per_epoch), steps_per_execution=spec.steps_per_execution,
                  run_eagerly=spec.run_eagerly)
    return model


def draw(model, history, x_test, prefix, image_shape):
    """A scored run's pictures, ``<prefix>_<picture>.png``: its loss terms per epoch (each layer's KL for a
    hierarchy), reconstructions of test digits and, from a ladderae model, prior samples; for a hierarchy also a row
    of generated digits per latent layer, that layer alone redrawn from its prior (`hierarchy_plots.prior_variation`:
    coarse at the top, fine below, if the hierarchy is used), and one test digit decoded with one layer drawn from
    its posterior per row (`layer_variation`)."""
    from ladderae import hierarchy_plots, plots

    plots.history(history, path=f"{prefix}_history.png")
    plots.reconstructions(model, x_test, path=f"{prefix}_reconstructions.png", image_shape=image_shape)
    if not hasattr(model, "network"):  # the independent Keras baseline: no sampler of its own
        return
    plots.samples(model, path=f"{prefix}_samples.png", image_shape=image_shape)
    if model.network.latents:
        hierarchy_plots.prior_variation(model, path=f"{prefix}_prior_layers.png", image_shape=image_shape)
        hierarchy_plots.layer_variation(model, x_test, path=f"{prefix}_layers.png", image_shape=image_shape)


def count_parameters(model):
    """Trainable parameters of `model`."""
    return int(sum(math.prod(v.shape) for v in model.trainable_variables))


def resume_callbacks(workdir, data):
    """Callbacks that make a fit resumable from `workdir`, and a reader of the epochs finished across sittings."""
    import keras

    from ladderae import pipeline

    class EpochSeconds(keras.callbacks.Callback):
        """Puts each epoch's wall time into its logs, so the CSV keeps it across sittings."""

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs["epoch_seconds"] = time.perf_counter() - self.start

    history = workdir / "history.csv"
    callbacks = [
        EpochSeconds(),
        keras.callbacks.CSVLogger(str(history), append=True),
        keras.callbacks.BackupAndRestore(str(workdir / "backup"), delete_checkpoint=False),
        pipeline.EpochSync(data),  # the epoch's binarisations follow the restored optimizer step
    ]
    return callbacks, lambda: read_history(history)


def read_history(path):
    """Per-metric lists from the CSV of finished epochs.

    An epoch logged twice (a kill between its log line and its backup) counts
    once; the ``val_`` columns CSVLogger adds as "NA" when there is no
    validation data are left out.
    """
    with open(path, newline="") as f:
        by_epoch = {int(row.pop("epoch")): row for row in csv.DictReader(f)}
    rows = [by_epoch[e] for e in sorted(by_epoch)]
    keys = [key for key in (rows[0] if rows else {}) if rows[0][key] != "NA"]
    return {key: [float(row[key]) for row in rows] for key in keys}


def git_state():
    """``{"commit": HEAD, "uncommitted_changes": edits to tracked code}`` of the checkout this benchmark runs from.

    Only tracked files under ``ladderae/`` and ``benchmarks/`` count, the
    committed results under ``benchmarks/results/`` not: a worktree's own runs
    land there and say nothing about the code.
    """
    git = ["git", "-C", str(BENCHMARKS)]
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip() or None
    status = [*git, "status", "--porcelain", "--untracked-files=no", "--", "../ladderae", ".", ":(exclude)results"]
    dirty = bool(subprocess.run(status, capture_output=True, text=True).stdout.strip())
    return {"commit": commit, "uncommitted_changes": dirty}


def trained_at(workdir, finished_epochs, epochs):
    """The git state a run in `workdir` trains at: recorded when it starts, checked when it resumes.

    A run whose epochs are not all finished must resume from the commit it
    started at (one run, one training commit); once trained it may be scored
    from any checkout, and its JSON names both commits.
    """
    path = workdir / "trained_at.json"
    now = git_state()
    if not path.exists():
        path.write_text(json.dumps(now))
        return now
    started = json.loads(path.read_text())
    if finished_epochs < epochs and started["commit"] != now["commit"]:
        raise RuntimeError(f"{workdir.name} started training at {started['commit']} and has {epochs - finished_epochs} "
                           f"epochs to go: resume it from a checkout of that commit, not {now['commit']}")
    return started


def environment():
    """Machine, backend, versions and git commit (with `git_state`'s flag) of this run, as scored."""
    import importlib.metadata as md
    import importlib.util
    import platform

    import keras

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
        "backend": keras.backend.backend(), **git_state(),
        "versions": {p: md.version(p) for p in ("keras", "tensorflow", "jax", "numpy") if importlib.util.find_spec(p)},
    }


def run_one(spec, workdir, plots_dir=None, verbose=0, callbacks=(), train_only=False):
    """Train `spec` (resuming from `workdir` if a sitting was killed) and score it; returns a JSON-able dict.

    `callbacks` run after the resume callbacks (the tests kill a run with one).
    With `train_only` it returns None once trained: `workdir` keeps the trained
    state, and a later call only scores.
    """
    import keras

    from ladderae import datasets, evaluate, pipeline

    keras.utils.set_random_seed(spec.seed)
    (x_train, y_train), (x_test, y_test), image_shape = load_data(spec)
    workdir.mkdir(parents=True, exist_ok=True)
    data = pipeline.DynamicBinarization(x_train, spec.batch_size, seed=spec.seed)
    model = build_model(spec, x_train.shape[1:], len(data))
    resume, finished_epochs = resume_callbacks(workdir, data)
    done = len(finished_epochs().get("loss", [])) if (workdir / "history.csv").exists() else 0
    training = trained_at(workdir, done, spec.epochs)
    # shuffle=False: the data shuffle themselves; Keras' batch shuffle draws from a state no backup restores.
    model.fit(data, epochs=spec.epochs, verbose=verbose, shuffle=False, callbacks=[*resume, *callbacks])
    if train_only:
        return None
    history = finished_epochs()
    epoch_seconds = history.pop("epoch_seconds")
    own = model.evaluate(x_test, batch_size=1000, verbose=0, return_dict=True)
    steady = epoch_seconds[1:] or epoch_seconds  # the first epoch includes compilation
    result = {
        "spec": spec.to_json(),
        "history": history,
        "epoch_seconds": epoch_seconds,
        "train_seconds": sum(epoch_seconds),
        "own_neg_elbo": float(own.get("neg_elbo", own["loss"])),
        "parameters": count_parameters(model),
        "examples_per_second": len(x_train) / statistics.median(steady),
        "median_epoch_seconds": statistics.median(steady),
        "environment": environment(),
        "trained_at": training,
    }
    if spec.validation:
        result.update(evaluate.elbo(model, x_test, seed=spec.seed))
    elif not spec.speed_only:
        start = time.perf_counter()
        probe_x = datasets.binarize(x_train[: spec.probe_size], seed=1)
        result.update(evaluate.report(model, x_test, y_test, probe_x, y_train[: spec.probe_size],
                                      k=spec.iwae_k, iwae_images=spec.iwae_images, seed=0, verbose=verbose))
        result["score_seconds"] = time.perf_counter() - start
        result.pop("knn_accuracy", None)  # the table reports the linear probe; kNN is in `ladderae evaluate`
        if spec.seed == 0 and spec.plots and plots_dir is not None:
            draw(model, result["history"], x_test, plots_dir / workdir.name, image_shape[:2])
    result["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


class Runner:
    """Runs specs in order, reusing saved runs whose spec matches; one process at a time. With `report_only` it
    runs nothing: a run not saved yet is None.

    Layout under `out`: ``runs/<id>.json`` (finished runs), ``work/<id>/`` (a
    run in progress: its backup and epoch log, removed once its JSON is
    written), ``logs/<id>.log`` (a subprocess's output), ``plots/``.
    """

    def __init__(self, out, in_process, log, train_only=False, report_only=False):
        self.out, self.in_process, self.log, self.train_only = pathlib.Path(out), in_process, log, train_only
        self.report_only = report_only

    def saved(self, spec, run_id):
        """The saved result of `run_id` if it was run with `spec`, else None."""
        path = self.out / "runs" / f"{run_id}.json"
        if path.exists():
            saved = json.loads(path.read_text())
            if RunSpec.from_json(saved["spec"]) == spec:
                return saved
            self.log(f"{spec.label}: the saved run has other settings, running again")
        return None

    def __call__(self, spec, run_id, position=""):
        found = self.saved(spec, run_id)
        if found is not None or self.report_only:
            if found is None:
                self.log(f"{position} {spec.label}: not run yet (--report-only: left out)")
            return found
        for name in ("runs", "logs", "plots"):
            (self.out / name).mkdir(parents=True, exist_ok=True)
        workdir = self._workdir(spec, run_id)
        self.log(f"{position} {spec.label}: {'resuming' if (workdir / 'history.csv').exists() else 'starting'}")
        start = time.perf_counter()
        if self.in_process:
            result = run_one(spec, workdir, self.out / "plots", train_only=self.train_only)
        else:
            result = self._subprocess(spec, workdir, run_id)
        if self.train_only:
            self.log(f"{position} {spec.label}: trained in {time.perf_counter() - start:.0f} s; scored by a run "
                     "without --train-only")
            return None
        result["wall_seconds"] = time.perf_counter() - start  # of the last sitting
        (self.out / "runs" / f"{run_id}.json").write_text(json.dumps(result))
        shutil.rmtree(workdir)
        shown = result.get("iwae_nll") or result.get("neg_elbo")
        self.log(f"{position} {spec.label}: {result['wall_seconds']:.0f} s, {result['median_epoch_seconds']:.2f} s/epoch"
                 + (f", {shown:.2f} nats" if shown else ""))
        return result

    def _workdir(self, spec, run_id):
        """The run's work folder, emptied first if it holds a sitting of another spec."""
        workdir = self.out / "work" / run_id
        marker = workdir / "spec.json"
        if marker.exists() and RunSpec.from_json(json.loads(marker.read_text())) != spec:
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps(spec.to_json()))
        return workdir

    def _subprocess(self, spec, workdir, run_id):
        result_path = workdir / "result.json"
        job = {"spec": spec.to_json(), "workdir": str(workdir), "plots": str(self.out / "plots"),
               "result": str(result_path), "train_only": self.train_only}
        status = run_job(BENCHMARKS / "mnist_vs_vae.py", job, spec.backend, self.out / "logs" / f"{run_id}.log")
        if status != 0:
            tail = (self.out / "logs" / f"{run_id}.log").read_text()[-3000:]
            raise RuntimeError(f"{spec.label} failed (exit {status}):\n{tail}")
        return None if self.train_only else json.loads(result_path.read_text())


def _exit(signum, frame):
    sys.exit(128 + signum)


def run_job(script, job, backend, log_path):
    """Runs ``script --_run <job as JSON>`` in a subprocess on `backend`, its output appended to `log_path`; returns
    its exit status. A SIGTERM to this process ends the subprocess too (it becomes SystemExit here, and
    `subprocess.run` kills its child on any exception), so a benchmark killed by its pid leaves no orphan training
    on the run that its next start resumes: two processes would write one run's backup and history."""
    signal.signal(signal.SIGTERM, _exit)
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    with open(log_path, "a") as log:
        return subprocess.run([sys.executable, str(script), "--_run", json.dumps(job)], env=env,
                              cwd=pathlib.Path(script).parent, stdout=log, stderr=subprocess.STDOUT).returncode


def child(job):
    """The `--_run` entry point: one run in this process, its result written where the parent reads it."""
    result = run_one(RunSpec.from_json(job["spec"]), pathlib.Path(job["workdir"]), pathlib.Path(job["plots"]),
                     verbose=2, train_only=job["train_only"])
    if result is not None:
        pathlib.Path(job["result"]).write_text(json.dumps(result))
