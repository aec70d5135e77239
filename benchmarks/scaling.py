"""Data-parallel scaling: training throughput of a LadderAE on 1 vs N devices, on both Keras backends.

    python benchmarks/scaling.py                                   # 1 and 2 devices, TensorFlow and JAX
    python benchmarks/scaling.py --devices 1 2 4 8 --backends jax  # a machine with 8 GPUs

Each (backend, device count) is a subprocess, because devices are fixed when a
backend starts. On a machine with at least N GPUs a run uses N GPUs, otherwise
it splits the host CPU into N logical devices (TensorFlow logical devices;
XLA_FLAGS=--xla_force_host_platform_device_count=N on JAX); `--cpu` forces the
latter. One device is plain training; more use the backend's data-parallel
path with no other change: `tf.distribute.MirroredStrategy` on TensorFlow,
`keras.distribution.DataParallel` on JAX. The global batch is the same for
every device count (strong scaling) unless `--per-device-batch` makes
`--batch-size` per device (weak scaling). Logical CPU devices share the same
cores, so on a CPU they show what splitting costs, not a speed-up.

Throughput is training examples per second of the median epoch after the
first (which compiles); with `--rounds` every run repeats, interleaved, and the
table shows the median. Writes a table to stdout and JSON to `--out`.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
MODEL = {"encoder": [512, 256], "latent_dim": 32, "pairing": "mirror", "stop_gradient": "none"}


def data_parallel(devices, cpu=False):
    """A data-parallel distribution over `devices` devices for the current backend, and what they are.

    Returns ``(distribution, description)``; `distribution` has ``.scope()``
    (build, compile and fit inside it) and is None for one device. GPUs when
    the backend sees enough of them and `cpu` is false, else the host CPU split
    into logical devices. Call it before the backend has run anything.
    """
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = [] if cpu else tf.config.list_physical_devices("GPU")
        if cpu:
            tf.config.set_visible_devices([], "GPU")
        kind = "gpu" if gpus else "cpu"
        if not gpus and devices > 1:
            host = tf.config.list_physical_devices("CPU")[0]
            tf.config.set_logical_device_configuration(host, [tf.config.LogicalDeviceConfiguration()] * devices)
        available = len(gpus) if gpus else devices
    elif backend == "jax":
        import jax

        found = jax.devices("cpu") if cpu else jax.devices()
        kind, available = found[0].platform, len(found)
    else:
        raise ValueError(f"data_parallel supports the tensorflow and jax backends, not {backend!r}")
    if available < devices:
        hint = ("start JAX with the environment of child_env(), XLA_FLAGS=--xla_force_host_platform_device_count=N"
                if kind == "cpu" else "ask for fewer devices or pass --cpu to split the host CPU instead")
        raise ValueError(f"`devices`={devices} but {backend} sees {available} {kind} device(s): {hint}.")
    description = f"{devices} x {kind}" + (" (logical)" if kind == "cpu" and devices > 1 else "")
    if devices == 1:
        return None, description
    if backend == "tensorflow":
        return tf.distribute.MirroredStrategy([f"/{kind}:{i}" for i in range(devices)]), description
    return keras.distribution.DataParallel(devices=found[:devices]), description


def measure(args):
    """One (backend, device count) run in this process: the JSON-able measurement."""
    import contextlib

    import keras

    import ladderae
    from ladderae import pipeline
    from ladderae.cli import training

    (devices,) = args.devices  # a child measures one device count
    distribution, description = data_parallel(devices, cpu=args.cpu)
    batch = args.batch_size * (devices if args.per_device_batch else 1)
    (x_train, _), _ = training.mnist_splits(args.data_dir, train_size=args.train_size, test_size=1)
    keras.utils.set_random_seed(0)
    with distribution.scope() if distribution else contextlib.nullcontext():
        model = ladderae.LadderAE(input_shape=x_train.shape[1:], seed=0, **MODEL)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        timer = training.EpochTimer()
        data = pipeline.DynamicBinarization(x_train, batch, seed=0)
        history = model.fit(data, epochs=args.epochs, verbose=0, callbacks=[timer])
    seconds = statistics.median(timer.seconds[1:] or timer.seconds)
    return {
        "backend": keras.backend.backend(), "devices": devices, "device": description,
        "global_batch": batch, "per_device_batch": batch // devices, "epoch_seconds": timer.seconds,
        "median_epoch_seconds": seconds, "examples_per_second": len(x_train) / seconds,
        "final_loss": history.history["loss"][-1],
    }


def child_env(backend, devices):
    """The environment of a child process on `backend` that may split the host CPU into `devices` devices.

    JAX takes its CPU device count from XLA_FLAGS when it starts. Its CPU
    client runs all devices' parts of a step on one thread pool as large as
    the machine has cores; when that is not more than the devices, a step's
    all-reduce can wait for a device that gets no thread (here: two virtual
    devices on two cores, without a per-batch callback, abort at XLA's 40 s
    rendezvous timeout), so PJRT_NPROC raises the pool to twice the devices.
    """
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if backend == "jax" and devices > 1:
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}".strip()
        env.setdefault("PJRT_NPROC", str(max(os.cpu_count() or 1, 2 * devices)))
    return env


def run_child(args, backend, devices):
    argv = [sys.executable, __file__, "--_child", "--devices", str(devices), "--epochs", str(args.epochs),
            "--batch-size", str(args.batch_size), "--train-size", str(args.train_size)]
    argv += ["--data-dir", args.data_dir] if args.data_dir else []
    argv += [flag for flag, on in (("--cpu", args.cpu), ("--per-device-batch", args.per_device_batch)) if on]
    proc = subprocess.run(argv, env=child_env(backend, devices), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{backend} on {devices} device(s) failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def summarize(runs):
    """One row per (backend, device count): the median throughput over rounds, its range, and the speed-up."""
    rows = []
    for key in dict.fromkeys((r["backend"], r["devices"]) for r in runs):
        group = [r for r in runs if (r["backend"], r["devices"]) == key]
        rates = [r["examples_per_second"] for r in group]
        rows.append({k: group[0][k] for k in ("backend", "devices", "device", "global_batch", "per_device_batch")}
                    | {"rounds": len(group), "examples_per_second": statistics.median(rates),
                       "range": [min(rates), max(rates)], "final_loss": [r["final_loss"] for r in group]})
    for row in rows:
        one = next((r for r in rows if r["backend"] == row["backend"] and r["devices"] == 1), None)
        row["speedup"] = row["examples_per_second"] / one["examples_per_second"] if one else None
    return rows


def table(rows):
    lines = ["| backend | devices | global batch | per device | examples/s (median) | range | vs 1 device |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        speedup = f"{row['speedup']:.2f}x" if row["speedup"] else "-"
        lines.append(f"| {row['backend']} | {row['device']} | {row['global_batch']} | {row['per_device_batch']} | "
                     f"{row['examples_per_second']:.0f} | {row['range'][0]:.0f}-{row['range'][1]:.0f} | {speedup} |")
    return "\n".join(lines)


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--devices", type=int, nargs="+", default=[1, 2], help="device counts to compare")
    p.add_argument("--backends", nargs="+", default=["tensorflow", "jax"], choices=["tensorflow", "jax"])
    p.add_argument("--epochs", type=int, default=3, help="epochs per run; the first (compilation) is not timed")
    p.add_argument("--batch-size", type=int, default=256, help="global batch (per device with --per-device-batch)")
    p.add_argument("--per-device-batch", action="store_true", help="weak scaling: the global batch grows with N")
    p.add_argument("--train-size", type=int, default=20000, help="MNIST training digits per epoch")
    p.add_argument("--cpu", action="store_true", help="split the host CPU even where there are GPUs")
    p.add_argument("--data-dir", default=None, help="MNIST data root (default: $LADDERAE_DATA, Keras' cache)")
    p.add_argument("--rounds", type=int, default=1, help="repeat every run, interleaved (a shared machine's load "
                   "drifts); the table shows the median")
    p.add_argument("--out", default=str(HERE / "results" / "scaling.json"))
    p.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if any(n < 1 for n in args.devices) or args.rounds < 1:
        p.error(f"--devices and --rounds must be positive, got --devices {args.devices} --rounds {args.rounds}")
    return args


def main(argv=None):
    args = parse(argv)
    if args._child:
        print(json.dumps(measure(args)))
        return 0
    sys.path.insert(0, str(HERE))
    from mnistbench.run import environment

    runs = []
    for round_ in range(args.rounds):
        for backend in args.backends:
            for devices in args.devices:
                runs.append(run_child(args, backend, devices) | {"round": round_})
                print(f"round {round_ + 1}: {backend} on {runs[-1]['device']}: "
                      f"{runs[-1]['examples_per_second']:.0f} examples/s", flush=True)
    rows = summarize(runs)
    report = {"environment": environment(), "model": MODEL,
              "settings": {k: v for k, v in vars(args).items() if k != "_child"}, "summary": rows, "runs": runs}
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(table(rows))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
