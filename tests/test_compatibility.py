"""Files saved by ladderae 0.1.0 (tests/fixtures, written by make_v01.py) load with the predictions they were saved with."""

import pathlib

import keras
import numpy as np
import pandas as pd
import pytest

import ladderae

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"
SAVED = np.load(FIXTURES / "v01_predictions.npz")


def frame(n, seed):  # make_v01.frame: the columns the tabular fixture was fitted on
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"size": rng.normal(5.0, 2.0, n), "colour": rng.choice(["red", "green", "blue"], n),
                         "ok": rng.random(n) < 0.5})


def assert_saved(name, value):
    """`value` matches what 0.1.0 saved under `name`; a dict (a hierarchy's codes per layer) entry by entry."""
    if isinstance(value, dict):
        assert sorted(f"{name}/{key}" for key in value) == sorted(k for k in SAVED if k.startswith(name + "/"))
        for key, entry in value.items():
            assert_saved(f"{name}/{key}", entry)
        return
    np.testing.assert_allclose(keras.ops.convert_to_numpy(value), SAVED[name], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("stem", ["ladder_ae", "ladder_vae"])
def test_a_010_autoencoder_file_loads_with_its_codes_and_reconstructions(stem):
    model = keras.saving.load_model(FIXTURES / f"v01_{stem}.keras")  # `predict` samples z: compared are the means
    assert isinstance(model, ladderae.LadderAE)
    assert_saved(f"{stem}_encode", model.encode(SAVED["x"]))
    assert_saved(f"{stem}_reconstruct", model.reconstruct(SAVED["x"]))


def test_a_010_ladder_network_file_loads_with_its_predictions():
    model = keras.saving.load_model(FIXTURES / "v01_ladder_network.keras")
    assert isinstance(model, ladderae.LadderNetwork)
    assert_saved("ladder_network_predict", model.predict(SAVED["x"], verbose=0))


def test_a_010_tabular_file_loads_with_its_reconstructions():
    model = ladderae.load_model(FIXTURES / "v01_tabular.keras")
    assert isinstance(model, ladderae.TabularLadderAE)
    assert_saved("tabular_reconstruct", model.reconstruct(model.transform(frame(16, 2))))
