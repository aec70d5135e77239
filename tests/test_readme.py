"""The README's Python example runs, and CI runs the README's test command."""

import os
import re

import keras
import numpy as np
import pytest
from conftest import REPO

README = (REPO / "README.md").read_text()


def run_python_block(marker, tmp_path, monkeypatch, data_root):
    """Execute the README's python block containing `marker` in `tmp_path`; returns its namespace."""
    blocks = [b for b in re.findall(r"```python\n(.*?)```", README, re.S) if marker in b]
    assert len(blocks) == 1, f"expected one python block with {marker!r} in the README"
    monkeypatch.setenv("LADDERAE_DATA", str(data_root))
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    return namespace


def test_readme_python_example_runs(tmp_path, monkeypatch, data_root):
    namespace = run_python_block("model.sample(16", tmp_path, monkeypatch, data_root)
    assert namespace["codes"].shape == (1000, 32)
    assert namespace["digits"].shape == (16, 784)
    model, restored, x_test = namespace["model"], namespace["restored"], namespace["x_test"]
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 16  # one epoch of 2,000 in batches of 128
    assert restored.graph.edges["e1", "d1"]["stop_gradient"] == "local"
    np.testing.assert_array_equal(restored.reconstruct(x_test[:100]), model.reconstruct(x_test[:100]))  # "same"


def test_readme_conv_example_builds(tmp_path, monkeypatch, data_root):
    graph = run_python_block("conv=[32, 64]", tmp_path, monkeypatch, data_root)["conv_model"].graph
    assert [graph.nodes[n]["shape"] for n in ("e1", "e2", "e3", "z", "d3", "d2", "d1", "x_hat")] == [
        (14, 14, 32), (7, 7, 64), (256,), (2,), (256,), (7, 7, 64), (14, 14, 32), (28, 28, 1)]


def test_readme_table_example_runs(tmp_path, monkeypatch, data_root):
    namespace = run_python_block("TabularLadderAE", tmp_path, monkeypatch, data_root)
    assert len(namespace["history"].history["nll_price"]) == 3
    assert list(namespace["rebuilt"].columns) == list(namespace["frame"].columns)
    assert (namespace["rows"].dtypes == namespace["frame"].dtypes).all()
    assert {"rmse_price", "accuracy_cut", "neg_elbo"} <= set(namespace["report"])


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the snippet uses tf.distribute")
def test_readme_multi_gpu_example_runs(tmp_path, monkeypatch, data_root):
    namespace = run_python_block("MirroredStrategy", tmp_path, monkeypatch, data_root)
    restored = keras.saving.load_model(tmp_path / "ladder.keras")
    steps = keras.ops.convert_to_numpy(namespace["model"].optimizer.iterations)
    assert steps == 16 and keras.ops.convert_to_numpy(restored.step_counter) == steps  # 2 epochs of 2,048 in 256s
    assert not (tmp_path / "backup").exists()  # BackupAndRestore removes its backup when training ends


def test_ci_runs_the_readme_test_command():
    bash_blocks = re.findall(r"```bash\n(.*?)```", README, re.S)
    test_command = next(block.strip() for block in bash_blocks if "pytest" in block)
    assert test_command in (REPO / ".ci" / "run").read_text()


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="checks the CI environment itself")
def test_ci_has_the_shared_mnist_files(data_root):
    assert (data_root / "mnist" / "SHA256SUMS").exists()
