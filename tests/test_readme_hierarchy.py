"""The README's Ladder VAE example runs and gives what its comments say."""

import numpy as np
from conftest import script_on_one_backend
from test_readme import run_python_block


@script_on_one_backend
def test_readme_hierarchy_example_runs(tmp_path, monkeypatch, data_root):
    namespace = run_python_block('pair_kind="stochastic"', tmp_path, monkeypatch, data_root)
    lvae, bound, active = namespace["lvae"], namespace["bound"], namespace["active"]
    assert lvae.network.latents == ["z1", "z2", "z3", "z4"] and lvae.latent_dim == 4
    assert {k: v.shape[1] for k, v in namespace["codes"].items()} == {"z1": 64, "z2": 32, "z3": 16, "z4": 8, "z": 4}
    assert bound.shape == (100,) and np.all(np.isfinite(bound)) and 50 < bound.mean() < 550
    assert set(active) == {"z1", "z2", "z3", "z4", "z"} and namespace["digits"].shape == (16, 784)
