"""The README is short, every Python block in it runs (each by a test that checks what its comments say), and CI
runs the README's test command."""

import ast
import importlib
import os
import re

import keras
import numpy as np
import pytest
from conftest import REPO, script_on_one_backend

from ladderae import data, likelihoods, losses, pair_kinds, pairing, stop_gradient
from ladderae.nn import combinators

README = (REPO / "README.md").read_text()
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


def run_python_block(marker, tmp_path, monkeypatch, data_root):
    """Execute the README's python block containing `marker` in `tmp_path`; returns its namespace."""
    blocks = [b for b in PYTHON_BLOCKS if marker in b]
    assert len(blocks) == 1, f"expected one python block with {marker!r} in the README"
    monkeypatch.setenv("LADDERAE_DATA", str(data_root))
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    return namespace


@pytest.fixture
def registries(monkeypatch):
    """What a block registers (rules, losses, modes, likelihoods, kinds, combinators, data sets) is gone after it."""
    for registry in (pairing.pairing_rules, losses.pair_losses, stop_gradient.modes, likelihoods.likelihoods,
                     pair_kinds.pair_kinds, combinators.combinators, data.sources, data.readers):
        monkeypatch.setattr(registry, "_entries", dict(registry._entries))


def test_the_readme_has_at_most_400_lines():
    assert len(README.splitlines()) <= 400


def test_every_python_block_of_the_readme_is_run_by_a_test():
    """Each block holds exactly one of the markers that the README tests pass to `run_python_block`."""
    markers = set()
    for path in REPO.glob("tests/test_readme*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "run_python_block":
                markers.add(node.args[0].value)
    assert len(PYTHON_BLOCKS) >= 8
    for block in PYTHON_BLOCKS:
        found = [marker for marker in markers if marker in block]
        assert len(found) == 1, f"this README block is run by {len(found)} tests, not one:\n{block[:300]}"


@script_on_one_backend
def test_readme_python_example_runs(tmp_path, monkeypatch, data_root):
    namespace = run_python_block("model.sample(16", tmp_path, monkeypatch, data_root)
    assert namespace["codes"].shape == (200, 16)
    assert namespace["digits"].shape == (16, 784)
    model, restored, x_test = namespace["model"], namespace["restored"], namespace["x_test"]
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 4  # one epoch of 512 in batches of 128
    assert restored.graph.edges["e1", "d1"]["stop_gradient"] == "local"
    np.testing.assert_array_equal(restored.reconstruct(x_test[:100]), model.reconstruct(x_test[:100]))  # "same"


def test_readme_conv_example_builds(tmp_path, monkeypatch, data_root):
    graph = run_python_block("conv=[32, 64]", tmp_path, monkeypatch, data_root)["conv_model"].graph
    assert [graph.nodes[n]["shape"] for n in ("e1", "e2", "e3", "z", "d3", "d2", "d1", "x_hat")] == [
        (14, 14, 32), (7, 7, 64), (256,), (2,), (256,), (7, 7, 64), (14, 14, 32), (28, 28, 1)]


@script_on_one_backend
def test_readme_table_example_runs(tmp_path, monkeypatch, data_root):
    namespace = run_python_block("TabularLadderAE", tmp_path, monkeypatch, data_root)
    assert len(namespace["history"].history["nll_price"]) == 1
    assert list(namespace["rebuilt"].columns) == list(namespace["frame"].columns)
    assert (namespace["rows"].dtypes == namespace["frame"].dtypes).all()
    assert {"rmse_price", "accuracy_cut", "neg_elbo"} <= set(namespace["report"])


@pytest.fixture
def no_distribution():
    """The JAX branch of the multi-device block sets a global distribution: unset it for the tests after it."""
    yield
    keras.distribution.set_distribution(None)


def test_readme_multi_device_example_runs(tmp_path, monkeypatch, data_root, no_distribution):
    namespace = run_python_block("MirroredStrategy", tmp_path, monkeypatch, data_root)
    if keras.backend.backend() == "jax":
        assert isinstance(keras.distribution.distribution(), keras.distribution.DataParallel)
    keras.distribution.set_distribution(None)
    restored = keras.saving.load_model(tmp_path / "ladder.keras")
    steps = keras.ops.convert_to_numpy(namespace["model"].optimizer.iterations)
    assert steps == 8 and keras.ops.convert_to_numpy(restored.step_counter) == steps  # 2 epochs of 1,024 in 256s
    assert not (tmp_path / "backup").exists()  # BackupAndRestore removes its backup when training ends


def test_ci_runs_the_readme_test_command():
    bash_blocks = re.findall(r"```bash\n(.*?)```", README, re.S)
    test_command = next(block.strip() for block in bash_blocks if "pytest" in block)
    assert test_command in (REPO / ".ci" / "run").read_text()


@pytest.mark.parametrize("page", ["README.md", "benchmarks/README.md"])
def test_relative_links_point_at_files_and_headings_that_exist(page):
    """The links of the README and the benchmark notes (results folders, pictures, sections) point at something;
    links to other sites are not checked (no network here)."""
    source = REPO / page
    links = re.findall(r"\]\(([^)#\s]*)(?:#([\w-]+))?\)", source.read_text())
    assert len(links) >= 5
    for path, anchor in links:
        if re.match(r"[a-z]+://", path):
            continue
        target = (source.parent / path) if path else source
        assert target.exists(), f"{page} links to {path}, which does not exist"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", target.read_text(), re.M)
            slugs = {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}
            assert anchor in slugs, f"{page} links to {path}#{anchor}, a heading {path or page} lacks"


def test_the_new_module_paths_of_the_changes_section_import():
    section = README.split("## Changes in 0.2")[1].split("\n## ")[0]
    rows = [line.split("|")[1:3] for line in section.splitlines() if line.startswith("| `")]
    assert len(rows) >= 6
    for old, new in rows:
        assert len(re.findall(r"`([\w.]+)`", old)) == len(re.findall(r"`([\w.]+)`", new)), (old, new)
        for module in re.findall(r"`([\w.]+)`", new):
            importlib.import_module(module)


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="checks the CI environment itself")
def test_ci_has_the_shared_mnist_files(data_root):
    assert (data_root / "mnist" / "SHA256SUMS").exists()
