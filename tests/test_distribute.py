"""Distributed training: two devices agree with one, two workers agree with each other, a killed run resumes.

Devices are fixed when a backend starts, so each scenario runs in a fresh process
(`tests/_distributed_worker.py`): two logical CPU devices under
`tf.distribute.MirroredStrategy` on TensorFlow, two virtual CPU devices under
`keras.distribution.DataParallel` on JAX, two `MultiWorkerMirroredStrategy`
processes on loopback (TensorFlow), and a `BackupAndRestore` run killed after
epoch 2 of 4. Exact agreement is checked on a deterministic model trained with
SGD (where a gradient summed instead of averaged over replicas would double
every update). The variational model agrees exactly on JAX, which draws the
global batch's noise at once; on TensorFlow each replica draws its own, so
there it is checked on what does not depend on the noise.
"""

import json
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import REPO
from test_warmup import running_epoch_means

import _distributed_worker as worker

sys.path.insert(0, str(REPO / "benchmarks"))
from scaling import child_env  # noqa: E402

WORKER = REPO / "tests" / "_distributed_worker.py"
ON_TENSORFLOW = keras.backend.backend() == "tensorflow"
tensorflow_only = pytest.mark.skipif(
    not ON_TENSORFLOW, reason="tf.distribute is TensorFlow's; the JAX run tests keras.distribution.DataParallel"
)
STEPS_PER_EPOCH = len(worker.X) // worker.BATCH


def launch(*args, devices=1, env=None):
    """Start a worker on this backend that may split the host CPU into `devices` devices."""
    command = [sys.executable, str(WORKER), *map(str, args)]
    env = {**child_env(keras.backend.backend(), devices), **(env or {})}
    return subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(process, timeout=300):
    """Wait for a worker; its exit code and the end of its output (for assertion messages)."""
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"worker timed out after {timeout} s:\n{output[-3000:]}")
    return process.returncode, output[-3000:]


def run(scenario, out, *options, devices=1, expect=0):
    code, output = finish(launch(scenario, out, *options, devices=devices))
    assert code == expect, output
    return json.loads((out / "result.json").read_text())


@pytest.fixture(scope="module")
def two_devices(tmp_path_factory):
    """The `replicas` scenario, run once: MirroredStrategy (TF) or DataParallel (JAX) on two CPU devices."""
    out = tmp_path_factory.mktemp("replicas")
    return out, run("replicas", out, devices=2)


def test_one_step_on_two_devices_matches_one_device(two_devices):
    _, result = two_devices
    step = result["step"]
    assert result["replicas"] == 2 and result["device"] == "2 x cpu (logical)"
    assert {"loss", "reconstruction", "consistency", "pair_e1_d1", "pair_e2_d2"} <= set(step["logged"])
    assert step["largest_gradient"] > 0.1  # the step moved the weights: the comparison is not vacuous
    assert step["loss"] < 1e-5  # every logged metric: Keras' loss and the model's own trackers
    assert step["gradients"] < 1e-5 and step["weights"] < 1e-6
    assert step["step_counter"] == [1, 1]  # one global step, counted once
    assert result["evaluate"] < 1e-5


def test_dynamic_binarization_splits_the_same_batches_over_the_devices(two_devices):
    # Two epochs of SGD from the same weights end at the same weights: the replicas saw the single-device batches.
    _, result = two_devices
    assert result["binarization"]["PyDataset"] < 1e-6
    assert result["binarization"]["tf.data"] < 1e-6  # on TF one epoch later: Keras iterates it once before fitting


def test_the_beta_schedule_follows_global_steps(two_devices):
    _, result = two_devices
    schedule = result["schedule"]
    steps = schedule["start"] + np.arange(24)
    assert schedule["steps"] == list(steps + 1)
    expected = running_epoch_means(np.minimum(steps / worker.WARMUP, 1.0), 8)
    np.testing.assert_allclose(schedule["beta"], expected, rtol=1e-6, atol=1e-7)


def test_the_variational_model_trains_with_consistent_metrics(two_devices):
    _, result = two_devices
    history = result["schedule"]["history"]
    assert all(np.isfinite(v).all() for v in history.values())
    assert history["loss"][-1] < history["loss"][0]
    assert min(history["kl"]) > 0
    np.testing.assert_allclose(history["neg_elbo"], np.add(history["reconstruction"], history["kl"]), rtol=1e-5)
    if not ON_TENSORFLOW:  # DataParallel draws the global batch's noise at once: the same step as one device
        assert result["variational_step"]["loss"] < 1e-5 and result["variational_step"]["weights"] < 1e-6



def test_a_ladder_network_trains_on_two_devices(two_devices):
    """Mixed labelled and unlabelled rows, then a SemiSupervisedBatches given in parts, then evaluation."""
    _, result = two_devices
    ladder = result["ladder"]
    assert ladder["replicas"] == 2
    assert len(ladder["history"]["loss"]) == 2 and all(np.isfinite(v).all() for v in ladder["history"].values())
    parts = ladder["parts_history"]
    assert len(parts["loss"]) == 1 and {"cross_entropy", "denoising"} <= set(parts)
    assert all(np.isfinite(v).all() for v in parts.values())
    assert set(ladder["evaluate"]) == {"loss", "cross_entropy", "accuracy", "error"}
    assert np.abs(ladder["moving_mean"]).sum() > 0  # the clean passes moved the running statistics

@tensorflow_only
def test_replicas_draw_their_own_noise(two_devices):
    # Both replicas encode the same input: the same posterior, but independent samples from it.
    _, result = two_devices
    assert result["noise"]["z_mean_between_replicas"] == 0.0
    assert result["noise"]["z_between_replicas"] > 0.1


def test_a_checkpoint_written_on_two_devices_loads_on_one(two_devices):
    out, _ = two_devices
    saved = np.load(out / "predictions.npz")
    restored = keras.saving.load_model(out / "model.keras")
    np.testing.assert_array_equal(restored.reconstruct(saved["x"]), saved["reconstruct"])
    np.testing.assert_array_equal(restored.encode(saved["x"]), saved["encode"])
    # The noise state came along: the next sample is the one the trained model drew.
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(restored(saved["x"])["z"]), saved["z"])


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@tensorflow_only
def test_two_workers_on_loopback_end_with_identical_weights(tmp_path):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    outs = [tmp_path / f"worker{i}" for i in range(2)]
    tf_config = [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}) for i in range(2)]
    processes = [launch("multi_worker", out, env={"TF_CONFIG": config}) for out, config in zip(outs, tf_config)]
    for process in processes:
        code, output = finish(process, timeout=180)
        if code != 0:
            for other in processes:  # a worker left alone waits for its peer until the timeout
                other.kill()
        assert code == 0, output
    results = [json.loads((out / "result.json").read_text()) for out in outs]
    weights = [np.load(out / "weights.npz") for out in outs]
    for result in results:
        assert result["replicas"] == 2
        assert result["steps"]["largest_gradient"] > 0.1
        assert result["steps"]["loss"] < 1e-5 and result["steps"]["weights"] < 1e-6  # two workers = one device
    assert set(weights[0]) == set(weights[1])
    for name in weights[0]:
        np.testing.assert_array_equal(weights[0][name], weights[1][name], err_msg=name)
    assert int(weights[0]["step_counter"]) == STEPS_PER_EPOCH


def test_backup_and_restore_resumes_a_killed_run_where_it_stopped(tmp_path):
    backup = tmp_path / "backup"
    crashed = run("resume", tmp_path / "crashed", "--backup", backup, "--crash-after", 2, expect=worker.CRASH_EXIT_CODE)
    assert crashed["crashed"]["step_counter"] == 2 * STEPS_PER_EPOCH
    (tmp_path / "resumed").mkdir()
    resumed = worker.resume(tmp_path / "resumed", backup)  # the rerun (in this process: it needs no devices)
    assert resumed["epochs"] == list(range(2, worker.RESUME_EPOCHS))
    assert resumed["start"] == crashed["crashed"]  # the step counter and the noise state came back
    assert resumed["end"]["step_counter"] == worker.RESUME_EPOCHS * STEPS_PER_EPOCH
    assert not backup.exists()  # a finished run removes its backup

    # The same four epochs without a kill end at the same weights.
    (tmp_path / "uninterrupted").mkdir()
    uninterrupted = worker.resume(tmp_path / "uninterrupted", tmp_path / "backup_uninterrupted")
    ends = [np.load(tmp_path / name / "weights.npz") for name in ("resumed", "uninterrupted")]
    for name in ends[0]:
        np.testing.assert_allclose(ends[0][name], ends[1][name], rtol=1e-5, atol=1e-6, err_msg=name)
    assert resumed["evaluate"] == pytest.approx(uninterrupted["evaluate"], rel=1e-5)

    restored = keras.saving.load_model(tmp_path / "resumed" / "model.keras")
    metrics = restored.evaluate(worker.X, batch_size=worker.BATCH, verbose=0, return_dict=True)
    assert metrics == pytest.approx(resumed["evaluate"], rel=1e-6)
