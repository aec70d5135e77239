"""The README's LadderNetwork example runs: semi-supervised batches, fit, predict, evaluate, save and load."""

import numpy as np
from conftest import script_on_one_backend
from test_readme import run_python_block


@script_on_one_backend
def test_readme_ladder_example_runs(tmp_path, monkeypatch, data_root):
    namespace = run_python_block("ladderae.LadderNetwork(", tmp_path, monkeypatch, data_root)
    ladder, restored, history = namespace["ladder"], namespace["restored"], namespace["history"].history
    assert {"cross_entropy", "accuracy", "denoising", "denoising_x_x_hat", "denoising_z_z_hat"} <= set(history)
    assert ladder.pairs[0] == ("x", "x_hat") and len(ladder.pairs) == 7
    assert namespace["probabilities"].shape == (500, 10)
    # The same weights and statistics: equal up to float rounding of the other batch size's matmuls.
    np.testing.assert_allclose(restored.predict(namespace["x_test"][:100], verbose=0),
                               namespace["probabilities"][:100], rtol=1e-5, atol=1e-7)
    assert namespace["gamma"].pairs == [("z", "z_hat")]
