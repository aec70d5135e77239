"""The README's "Extending" block: one of each registered part, trained from Python."""

import pytest
from test_readme import registries, run_python_block  # noqa: F401 (registries: the fixture the tests use)

from ladderae import data

# The blocks register names into the process-wide registries: each test's registrations are gone after it.
pytestmark = pytest.mark.usefixtures("registries")


def test_readme_extending_block_registers_and_trains_each_part(tmp_path, monkeypatch, data_root):
    namespace = run_python_block('@ladderae.pair_kind("gap_report")', tmp_path, monkeypatch, data_root)
    extended = namespace["extended"]
    assert extended.pairs == [("e1", "d1")]
    edge = extended.graph.edges["e1", "d1"]
    assert (edge["loss"], edge["stop_gradient"]) == ("l1", "frozen_target")
    assert type(extended.likelihood).__name__ == "GaussianLikelihood" and not extended.likelihood.learn_scale
    history = namespace["extended_history"].history
    assert len(history["pair_e1_d1"]) == 2 and history["loss"][-1] < history["loss"][0]
    gaps = namespace["gap_history"].history
    assert {"gap_e1_d1", "gap_e2_d2"} <= set(gaps) and all(g > 0 for g in gaps["gap_e1_d1"])


def test_readme_data_set_block_registers_a_source_that_loads_by_name(tmp_path, monkeypatch, data_root):
    run_python_block('@ladderae.data.data_source("blobs")', tmp_path, monkeypatch, data_root)
    blobs = data.load("blobs")
    assert (blobs.kind, blobs.example_shape, len(blobs.x_test)) == ("vectors", (12,), 50)
