"""The example scripts run end to end on a few digits and narrower layers (the same code), and write what they say."""

import importlib.util
import json

import numpy as np
from conftest import REPO, script_on_one_backend


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "examples" / f"{name}.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    return example


def check_outputs(folder, results, pictures):
    for picture in pictures:
        assert (folder / f"{picture}.png").stat().st_size > 0, picture
    assert json.loads((folder / "results.json").read_text())["test"] == results


@script_on_one_backend
def test_the_conv_vae_example_trains_draws_and_scores_both_variants(tmp_path, data_root, monkeypatch, capsys):
    example = load_example("conv_vae_manifold")
    monkeypatch.setitem(example.ARCHITECTURE, "conv", [2, 4])  # narrower layers, the same code: a faster test
    monkeypatch.setitem(example.ARCHITECTURE, "encoder", [8])
    results = example.main(["--data-dir", str(data_root), "--epochs", "1", "--train-size", "128", "--test-size", "32",
                            "--out", str(tmp_path)])
    assert set(results) == {"plain", "matched"} and all(np.isfinite(r["neg_elbo"]) for r in results.values())
    printed = capsys.readouterr().out
    assert "plain: test -ELBO" in printed and "matched: test -ELBO" in printed
    check_outputs(tmp_path, results, [f"{variant}_{picture}" for variant in results
                                      for picture in ("manifold", "reconstructions", "latents", "graph")])


@script_on_one_backend
def test_the_ladder_example_trains_the_ladder_and_supervised_only_on_the_same_labels(tmp_path, data_root, capsys):
    example = load_example("ladder_mnist")
    results = example.main(["--data-dir", str(data_root), "--epochs", "2", "--labels", "20", "--encoder", "16", "8",
                            "--train-size", "300", "--test-size", "50", "--out", str(tmp_path)])
    assert set(results) == {"ladder", "supervised"}
    for result in results.values():
        assert len(result["test_error_per_epoch"]) == 2
        assert all(0 <= e <= 1 for e in [*result["test_error_per_epoch"], result["test_error"]])
        assert result["test_error"] in {i / 50 for i in range(51)}  # a fraction of the 50 test digits
    printed = capsys.readouterr().out
    assert "ladder: test error" in printed and "supervised: test error" in printed
    check_outputs(tmp_path, results, ["test_error", "denoised", "graph"])


def test_the_decayed_rate_holds_two_thirds_of_the_epochs_then_falls_linearly_to_zero():
    rate = load_example("ladder_mnist").decayed_rate(150)
    assert [rate(e) for e in (0, 99)] == [2e-3, 2e-3]
    np.testing.assert_allclose([rate(e) for e in (100, 125, 149)], [2e-3, 1e-3, 2e-3 / 50])


@script_on_one_backend
def test_the_ladder_vae_example_trains_draws_and_scores_both_variants(tmp_path, data_root, monkeypatch, capsys):
    example = load_example("ladder_vae_mnist")
    monkeypatch.setitem(example.VARIANTS, "lvae", {**example.VARIANTS["lvae"], "encoder": [16, 12, 8],
                                                   "latent_dim": [6, 4, 2]})
    monkeypatch.setitem(example.VARIANTS, "one_latent", {**example.VARIANTS["one_latent"], "encoder": [16, 8]})
    results = example.main(["--data-dir", str(data_root), "--epochs", "1", "--k", "4", "--train-size", "256",
                            "--test-size", "32", "--out", str(tmp_path)])
    assert set(results) == {"lvae", "one_latent"}
    assert set(results["lvae"]["active_units"]) == {"z1", "z2", "z"}
    assert set(results["one_latent"]["active_units"]) == {"z"}
    assert {"kl_z1", "kl_z2", "kl_z"} <= set(results["lvae"])
    for result in results.values():
        assert np.isfinite(result["iwae_nll"]) and result["iwae_nll"] > 0
    printed = capsys.readouterr().out
    assert "lvae: test -ELBO" in printed and "one_latent: test -ELBO" in printed
    pictures = [f"{variant}_{picture}" for variant in results for picture in ("samples", "reconstructions", "history")]
    check_outputs(tmp_path, results, ["lvae_layers", "lvae_prior_layers", *pictures])
