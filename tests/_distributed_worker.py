"""Subprocess side of tests/test_distribute.py: each scenario needs a fresh process with its own devices.

    python tests/_distributed_worker.py replicas OUT      # 2 devices: MirroredStrategy (TF) / DataParallel (JAX)
    python tests/_distributed_worker.py multi_worker OUT  # one MultiWorkerMirroredStrategy worker (TF_CONFIG set)
    python tests/_distributed_worker.py resume OUT --backup DIR [--crash-after EPOCHS]

Each writes OUT/result.json (and arrays, models) for the test to check; the
backend is $KERAS_BACKEND. JAX needs the environment of `scaling.child_env`
(benchmarks/scaling.py) from the caller; TensorFlow splits its CPU here.
"""

import argparse
import contextlib
import json
import os
import pathlib
import sys

import keras
import numpy as np

import ladderae
from ladderae import pipeline

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "benchmarks"))
from scaling import data_parallel  # noqa: E402

X = (np.random.default_rng(0).random((64, 12)) > 0.5).astype("float32")
GREY = np.random.default_rng(1).random((64, 12)).astype("float32")  # pixel probabilities, for dynamic binarisation
BATCH = 16  # global batch: 8 examples per replica
LEARNING_RATE = 0.1
WARMUP = 12
CRASH_EXIT_CODE = 17
RESUME_EPOCHS = 4

# A deterministic model with both kinds of pair (a `local` re-run and a tied one) for exact agreement.
DETERMINISTIC = dict(variational=False, stop_gradient=["local", "none"], tied_weights=[False, True])
VARIATIONAL = dict(beta=ladderae.LinearWarmup(WARMUP), stop_gradient="local")


def build(spec, optimizer=None):
    """The same model every time; compiled without XLA on TensorFlow (tf.distribute turns it off anyway)."""
    keras.utils.set_random_seed(0)
    model = ladderae.LadderAE(12, encoder=[8, 6], latent_dim=3, seed=1, **spec)
    jit_compile = "auto" if keras.backend.backend() == "jax" else False
    model.compile(optimizer=optimizer or keras.optimizers.SGD(LEARNING_RATE), jit_compile=jit_compile)
    return model


def numpy_weights(model):
    return {v.path.split("/", 1)[1]: np.asarray(keras.ops.convert_to_numpy(v)) for v in model.weights}


def max_diff(a, b):
    return max(float(np.max(np.abs(np.asarray(a[k], "float64") - np.asarray(b[k], "float64")))) for k in a)


def scope(distribution):
    return distribution.scope() if distribution else contextlib.nullcontext()


def fit_both(distribution, spec, make_data, make_reference_data=None, **fit_kwargs):
    """Fit the same model from the same weights without and with `distribution`; the diffs, by quantity.

    `make_data()` gives each fit its own copy of the data (a dynamic binarisation moves on with every epoch);
    `make_reference_data()`, if given, that of the fit without the distribution.
    """
    reference = build(spec)
    start = numpy_weights(reference)
    with scope(distribution):
        model = build(spec)
        model.set_weights([start[k] for k in numpy_weights(model)])
        history = model.fit(make_data(), shuffle=False, verbose=0, **fit_kwargs).history
    ref_history = reference.fit((make_reference_data or make_data)(), shuffle=False, verbose=0, **fit_kwargs).history
    ref_end, end = numpy_weights(reference), numpy_weights(model)
    float_keys = [k for k in start if k != "step_counter"]
    grads = {k: (start[k] - end[k]) / LEARNING_RATE for k in float_keys}  # SGD: w1 = w0 - lr * g
    ref_grads = {k: (start[k] - ref_end[k]) / LEARNING_RATE for k in float_keys}
    return model, reference, {
        "loss": max_diff(history, ref_history),  # every logged metric, `loss` included
        "logged": sorted(history),
        "weights": max_diff({k: end[k] for k in float_keys}, ref_end),
        "gradients": max_diff(grads, ref_grads),
        "largest_gradient": max(float(np.max(np.abs(g))) for g in ref_grads.values()),
        "step_counter": [int(end["step_counter"]), int(ref_end["step_counter"])],
    }


class BatchLogs(keras.callbacks.Callback):
    """Per-batch `beta` log and step counter."""

    def __init__(self):
        super().__init__()
        self.beta, self.steps = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.beta.append(float(logs["beta"]))
        self.steps.append(int(keras.ops.convert_to_numpy(self.model.step_counter)))


def tf_data(peeked):
    """The tf.data dynamic binarisation, fresh; `peeked`: already iterated once.

    Before fitting under a tf.distribute strategy Keras' TF trainer takes a
    batch from a first iteration (its symbolic build), so the strategy's fit
    sees the draws a plain fit sees one iteration later.
    """
    data = pipeline.dynamic_binarization(GREY, BATCH, seed=3)
    if peeked:
        next(iter(data))
    return data


def replica_count(distribution, model):
    """Replicas of a tf.distribute strategy; on JAX, the devices a weight is actually laid out on."""
    if keras.backend.backend() == "tensorflow":
        return distribution.num_replicas_in_sync
    return len(model.trainable_variables[0].value.sharding.device_set)


def per_replica_noise(strategy, model):
    """The z each replica samples for the same input (TensorFlow): identical if replicas shared their noise."""
    import tensorflow as tf

    @tf.function
    def sample():
        def replica_fn():
            out = model(X[:4])
            return out["z"], out["z_mean"]

        return strategy.run(replica_fn)

    z, mean = ([np.asarray(t) for t in strategy.experimental_local_results(v)] for v in sample())
    return {"z_between_replicas": float(np.max(np.abs(z[0] - z[1]))),
            "z_mean_between_replicas": float(np.max(np.abs(mean[0] - mean[1])))}


def ladder_network(distribution):
    """A LadderNetwork on two devices: labelled and unlabelled rows mixed in one batch, a batch in parts (each
    replica gets its share of both parts and their labels), evaluation; the clean passes' running statistics."""
    x = np.random.default_rng(0).random((64, 6)).astype("float32")
    y = (x[:, 0] * 3).astype("int32")
    with scope(distribution):
        model = ladderae.LadderNetwork(6, encoder=[5, 4], n_classes=3, seed=0, momentum=0.5)
        model.compile(optimizer="adam")
        labels = y.copy()
        labels[20:] = -1
        history = model.fit(x, labels, batch_size=16, epochs=2, verbose=0).history
        parts = ladderae.SemiSupervisedBatches(x[:20], y[:20], x, n_classes=3, batch_size=32, labelled_batch_size=20)
        parts_history = model.fit(parts, epochs=1, verbose=0).history
        evaluation = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    return {"replicas": replica_count(distribution, model), "history": history, "parts_history": parts_history,
            "evaluate": evaluation,
            "moving_mean": keras.ops.convert_to_numpy(model.node_layers["e1"].moving_mean).tolist()}


def replicas(out):
    """Two devices against one: a step, evaluation, the schedule, the noise, dynamic binarisation, a checkpoint;
    a Ladder network's training on two devices."""
    distribution, description = data_parallel(2)
    result = {"device": description}
    model, reference, result["step"] = fit_both(distribution, DETERMINISTIC, lambda: X[:BATCH], batch_size=BATCH)
    result["replicas"] = replica_count(distribution, model)
    plain = reference.evaluate(X, batch_size=BATCH, verbose=0, return_dict=True)
    with scope(distribution):
        model.set_weights(reference.get_weights())
        distributed = model.evaluate(X, batch_size=BATCH, verbose=0, return_dict=True)
    result["evaluate"] = max(abs(plain[k] - distributed[k]) for k in plain)

    result["binarization"] = {
        "PyDataset": fit_both(distribution, DETERMINISTIC, lambda: pipeline.DynamicBinarization(GREY, BATCH, seed=3),
                              epochs=2)[2]["weights"],
        "tf.data": fit_both(distribution, DETERMINISTIC, lambda: tf_data(peeked=False),
                            lambda: tf_data(peeked=keras.backend.backend() == "tensorflow"), epochs=2)[2]["weights"],
    }

    # The variational model: one step against one device (JAX shares the global batch's noise; TF replicas
    # draw their own), then a warm-up schedule followed step by step.
    vae, _, result["variational_step"] = fit_both(distribution, VARIATIONAL, lambda: X[:BATCH], batch_size=BATCH)
    start = int(keras.ops.convert_to_numpy(vae.step_counter))
    with scope(distribution):
        vae.compile(optimizer=keras.optimizers.Adam(1e-2))
        logs = BatchLogs()
        history = vae.fit(X, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=[logs]).history
    result["schedule"] = {"start": start, "beta": logs.beta, "steps": logs.steps, "history": history}
    if keras.backend.backend() == "tensorflow":
        result["noise"] = per_replica_noise(distribution, vae)

    result["ladder"] = ladder_network(distribution)
    vae.save(out / "model.keras")
    np.savez(out / "predictions.npz", x=X, reconstruct=vae.reconstruct(X), encode=vae.encode(X),
             z=keras.ops.convert_to_numpy(vae(X)["z"]))
    return result


def multi_worker(out):
    """One worker of a MultiWorkerMirroredStrategy cluster ($TF_CONFIG): agreement and the trained weights."""
    import tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    model, _, steps = fit_both(strategy, DETERMINISTIC, lambda: X, batch_size=BATCH)
    np.savez(out / "weights.npz", **numpy_weights(model))
    return {"replicas": strategy.num_replicas_in_sync, "steps": steps}


class Recorder(keras.callbacks.Callback):
    """Where training starts (after BackupAndRestore has restored it) and, optionally, a crash after an epoch."""

    def __init__(self, record, crash_after):
        super().__init__()
        self.record, self.crash_after = record, crash_after

    def _state(self):
        return {"step_counter": int(keras.ops.convert_to_numpy(self.model.step_counter)),
                "noise_state": keras.ops.convert_to_numpy(self.model.seed_generator.state).tolist()}

    def on_train_begin(self, logs=None):
        self.record["start"] = self._state()

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.crash_after:
            self.record["crashed"] = self._state()
            write(self.record["out"], self.record)
            os._exit(CRASH_EXIT_CODE)  # no cleanup, no on_train_end: as abrupt as a kill


def resume(out, backup, crash_after=None):
    """RESUME_EPOCHS epochs under BackupAndRestore(backup); with `crash_after` the process dies after that epoch."""
    model = build(VARIATIONAL, optimizer=keras.optimizers.Adam(1e-2))
    record = {"out": str(out)}
    callbacks = [keras.callbacks.BackupAndRestore(str(backup)), Recorder(record, crash_after)]
    history = model.fit(X, batch_size=BATCH, epochs=RESUME_EPOCHS, shuffle=False, verbose=0, callbacks=callbacks)
    model.save(out / "model.keras")
    np.savez(out / "weights.npz", **numpy_weights(model))
    return {**record, "epochs": history.epoch, "end": callbacks[1]._state(),
            "evaluate": model.evaluate(X, batch_size=BATCH, verbose=0, return_dict=True)}


def write(out, result):
    (pathlib.Path(out) / "result.json").write_text(json.dumps(result))


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("scenario", choices=["replicas", "multi_worker", "resume"])
    p.add_argument("out", type=pathlib.Path)
    p.add_argument("--backup", type=pathlib.Path)
    p.add_argument("--crash-after", type=int)
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.scenario == "resume":
        result = resume(args.out, args.backup, args.crash_after)
    else:
        result = {"replicas": replicas, "multi_worker": multi_worker}[args.scenario](args.out)
    write(args.out, result)


if __name__ == "__main__":
    main()
