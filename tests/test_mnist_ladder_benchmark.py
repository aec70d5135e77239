"""benchmarks/mnist_ladder.py: the paper's schedule and settings, the floor's shapes, and --quick end to end."""

import json
import shutil
import sys

import keras
import numpy as np
import pytest
from conftest import REPO

import ladderae

sys.path.insert(0, str(REPO / "benchmarks"))
import mnist_ladder  # noqa: E402


def test_learning_rate_holds_then_decays_linearly_to_zero_over_the_last_third():
    schedule = mnist_ladder.learning_rate(steps_per_epoch=10, epochs=150)
    rates = [float(keras.ops.convert_to_numpy(schedule(step))) for step in (0, 999, 1000, 1250, 1500, 1600)]
    np.testing.assert_allclose(rates, [2e-3, 2e-3, 2e-3, 1e-3, 0.0, 0.0], atol=1e-9)


def test_rows_take_the_papers_settings_for_their_label_count():
    assert mnist_ladder.model_kwargs("ladder", "100", mnist_ladder.ENCODER)["denoising_weight"] == [
        1000, 10, 0.1, 0.1, 0.1, 0.1, 0.1]
    # The reference code's input noise stays 0.3; its layers' is 0.2 for the full ladder at 1,000 labels.
    assert mnist_ladder.model_kwargs("ladder", "1000", [8])["noise_std"] == [0.3, 0.2, 0.2]
    assert mnist_ladder.model_kwargs("ladder", "100", [8])["noise_std"] == [0.3, 0.3, 0.3]
    assert mnist_ladder.model_kwargs("gamma", "all", [8])["denoising_weight"] == 2.0
    assert mnist_ladder.model_kwargs("gamma", "1000", [8])["noise_std"] == 0.3  # the full ladder's 0.2 is its own
    model = ladderae.LadderNetwork(784, encoder=[8, 4], **mnist_ladder.model_kwargs("ladder_amlp", "100", [8, 4]))
    assert model.graph.edges["x", "x_hat"]["combinator"] == "amlp"


def test_the_floor_lists_the_products_a_step_computes_with_the_backward_ones_it_needs():
    f, w, both = mnist_ladder.FORWARD, mnist_ladder.WEIGHT_GRADIENT, mnist_ladder.BOTH_GRADIENTS
    ladder = ladderae.LadderNetwork(784, encoder=[1000, 500])
    # per encoder layer: labelled corrupted (gradients), labelled clean (accuracy only), unlabelled corrupted and
    # clean (gradients: the decoder's costs read both); e1 computes no input gradient; the decoder on the 60 rows
    assert mnist_ladder.step_products(ladder.network, 100, 60) == [
        (784, 1000, 100, w), (784, 1000, 100, f), (784, 1000, 60, w), (784, 1000, 60, w),
        (1000, 500, 100, both), (1000, 500, 100, f), (1000, 500, 60, both), (1000, 500, 60, both),
        (500, 10, 100, both), (500, 10, 100, f), (500, 10, 60, both), (500, 10, 60, both),
        (10, 500, 60, both), (500, 1000, 60, both), (1000, 784, 60, both)]
    supervised = ladderae.LadderNetwork(784, encoder=[1000], pairing=None)
    assert mnist_ladder.step_products(supervised.network, 100, 60) == [  # the unlabelled rows: running statistics only
        (784, 1000, 100, w), (784, 1000, 100, f), (784, 1000, 60, f),
        (1000, 10, 100, both), (1000, 10, 100, f), (1000, 10, 60, f)]


# The Ladder benchmark trains on JAX (its --backend default, the queue's): its tests run in the JAX pass. The library's
# exact resume is tested on both backends (tests/test_resume.py).
on_the_benchmarks_backend = pytest.mark.skipif(keras.backend.backend() != "jax", reason="the benchmark trains on JAX")


@on_the_benchmarks_backend
def test_quick_benchmark_writes_a_row_and_reuses_it(tmp_path, data_root, monkeypatch):
    args = ["--quick", "--rows", "ladder", "--out", str(tmp_path), "--data-dir", str(data_root)]
    assert mnist_ladder.main(args) == 0
    (result,) = json.loads((tmp_path / "results.json").read_text())
    assert result["job"]["row"] == "ladder" and result["epochs_run"] == 1 and 0 <= result["test_error"] <= 1
    assert result["seconds_per_epoch"] > 0 and result["examples_per_second"] > 0
    assert result["trained_at"]["commit"] == result["environment"]["commit"]  # trained and scored in one sitting
    speed = json.loads((tmp_path / "speed-jax.json").read_text())
    assert speed["ratio_to_floor"] == pytest.approx(speed["step_seconds"] / speed["floor_seconds"])
    table = (tmp_path / "results.md").read_text()
    assert "| ladder | 100 | 1 | 1 epoch, 1,000 digits, net 784-32-16-10 |" in table
    floor = json.loads((tmp_path / "floors" / "ladder-100-b100-32-16.json").read_text())["floor_seconds"]
    x_floor = result["seconds_per_epoch"] / (10 * floor)  # 1,000 digits in batches of 100
    assert table.splitlines()[-1].endswith(f" | {x_floor:.2f} |")
    for plot in ("test-error-100.png", "ladder-100-draw0-1ep-1000rows-denoised.png"):
        assert (tmp_path / "plots" / plot).stat().st_size > 0

    log = (tmp_path / "log.txt").read_text()
    # --quick times steps again on every call: checked once above, not what the calls below are about.
    monkeypatch.setattr(mnist_ladder, "speed", lambda args, log: {"backend": "skipped"})
    assert mnist_ladder.main(args) == 0  # finished runs are read back, not run again
    started = "ladder-100-draw0-1ep-1000rows: starting"
    assert (tmp_path / "log.txt").read_text().count(started) == log.count(started) == 1
    # --report trains nothing and tabulates every finished run under --out, whatever budget trained it.
    other = {**result, "job": {**result["job"], "labels": "all", "epochs": 2}}
    (tmp_path / "runs" / "ladder-all-elsewhere.json").write_text(json.dumps(other))
    assert mnist_ladder.main(["--report", "--out", str(tmp_path)]) == 0
    table = (tmp_path / "results.md").read_text()
    assert "| ladder | 100 | 1 | 1 epoch, 1,000 digits" in table and "| ladder | all | 1 | 2 epochs, 1,000 digits" in table
    assert (tmp_path / "plots" / "test-error-all.png").stat().st_size > 0
    assert (tmp_path / "log.txt").read_text().count(started) == 1
    with pytest.raises(SystemExit, match="no finished run"):
        mnist_ladder.main(["--report", "--out", str(tmp_path / "empty")])
    # A work folder left by other settings is refused, not resumed into a run of another budget.
    (tmp_path / "runs" / "ladder-100-draw0-1ep-1000rows.json").unlink()
    with pytest.raises(RuntimeError, match="holds a run with other settings"):
        mnist_ladder.main([*args, "--batch-size", "50"])


class Snapshot(keras.callbacks.Callback):
    """Copies a run's work folder after epoch `after` has been saved: what a kill at that moment leaves on disk."""

    def __init__(self, source, target, after):
        super().__init__()
        self.source, self.target, self.after = source, target, after

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.after:
            shutil.copytree(self.source, self.target)


@on_the_benchmarks_backend
def test_a_run_killed_after_an_epoch_resumes_to_the_result_of_an_uninterrupted_one(tmp_path, data_root):
    """300 digits (100 labelled), 2 epochs of 6 steps, the learning rate decaying in the second; the run is "killed"
    after epoch 1 by copying its folder then (two fits, not three: each compiles the step afresh)."""
    job = {"row": "ladder", "labels": "100", "draw": 0, "epochs": 2, "encoder": [16, 8], "batch_size": 50,
           "train_rows": 300, "backend": keras.backend.backend(), "data_dir": str(data_root)}
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    uninterrupted = mnist_ladder.run_one({**job, "workdir": str(straight)},
                                         callbacks=[Snapshot(straight, killed, after=0)])
    assert len(mnist_ladder.read_history(killed / "history.csv")["loss"]) == 1
    resumed = mnist_ladder.run_one({**job, "workdir": str(killed)})
    assert resumed["epochs_run"] == 2
    np.testing.assert_allclose(resumed["test_error_per_epoch"], uninterrupted["test_error_per_epoch"])
    # The second epoch ran from the saved step, noise and batches: the same losses (the rate decays in it).
    losses = [mnist_ladder.read_history(folder / "history.csv")["loss"] for folder in (killed, straight)]
    np.testing.assert_allclose(*losses, rtol=1e-5)


def test_the_table_shows_each_rows_fastest_run_beside_the_mean_error(tmp_path):
    """Runs that shared the cores only took longer: the row's speed is its fastest run's; the error is every draw's."""
    job = {"row": "ladder", "labels": "100", "epochs": 2, "encoder": [8], "batch_size": 100, "train_rows": 1000,
           "backend": "jax"}
    floor_name = "ladder-100-b100-8.json"
    (tmp_path / "floors").mkdir()
    (tmp_path / "floors" / floor_name).write_text(json.dumps({"floor_seconds": 0.01, "products": []}))
    runs = [{"job": {**job, "draw": draw}, "test_error": error, "seconds_per_epoch": seconds,
             "examples_per_second": 1000 / seconds} for draw, error, seconds in [(0, 0.02, 0.4), (1, 0.04, 0.2)]]
    row = next(line for line in mnist_ladder.markdown(runs, tmp_path).splitlines() if line.startswith("| ladder"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[2] == "2" and cells[4] == "3.00 ± 1.41"  # both draws' errors
    assert cells[6:] == ["0.2", "5000", "2.00"]  # the fastest run: 0.2 s over 10 steps of a 0.01 s floor
