"""The benchmark's --quick mode: every row runs end to end and the table has every column."""

import json
import sys

import keras
import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import mnist_vs_vae  # noqa: E402

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="--quick runs the TensorFlow-only baseline in-process; the benchmark drives both backends itself, "
    "so one pass (the TensorFlow one) covers it",
)


def test_quick_benchmark_runs_every_row_and_fills_every_column(tmp_path, data_root, capsys):
    assert mnist_vs_vae.main(["--quick", "--out", str(tmp_path), "--data-dir", str(data_root)]) == 0
    report = json.loads((tmp_path / "results.json").read_text())
    expected_rows = set(mnist_vs_vae.rows(report["best_mode"]))
    wide_rows = {e["row"] for e in report["summary"] if e["preset"] == "wide"}
    assert wide_rows == expected_rows
    for preset in ("iwae", "conv"):
        assert {e["row"] for e in report["summary"] if e["preset"] == preset} == {
            mnist_vs_vae.BASELINE, mnist_vs_vae.NO_PAIRS, f"mirror, {report['best_mode']}"}
    for entry in report["summary"]:
        assert entry["seeds"] == 2
        for figure in mnist_vs_vae.FIGURES + ["delta_neg_elbo", "delta_iwae_nll"]:
            assert entry[figure] is not None, (entry["row"], figure)
    table = (tmp_path / "results.md").read_text()
    header = next(line for line in table.splitlines() if line.startswith("| preset"))
    assert header.count("|") == 17
    assert all(row in table for row in expected_rows)
    assert "ratio to baseline" in table and "x floor" in table
    assert (tmp_path / "plots").is_dir() and any((tmp_path / "plots").iterdir())
    # Resuming: a second call finds every run on disk and trains nothing.
    runs = sorted((tmp_path / "runs").iterdir())
    stamps = [p.stat().st_mtime for p in runs]
    assert mnist_vs_vae.main(["--quick", "--out", str(tmp_path), "--data-dir", str(data_root)]) == 0
    assert [p.stat().st_mtime for p in sorted((tmp_path / "runs").iterdir())] == stamps


def test_the_floor_counts_every_dense_layer():
    # wide: 784-512-256-(32, 32) and 32-256-512-784 multiply-adds, times 6.
    macs = 784 * 512 + 512 * 256 + 2 * 256 * 32 + 32 * 256 + 256 * 512 + 512 * 784
    assert mnist_vs_vae.training_flops_per_example("wide") == 6 * macs
