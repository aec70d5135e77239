"""The command line declares a hierarchy of latents (a Ladder VAE): `--latent-dim` lists, `--batch-norm`."""

import json

import keras
import pytest
from conftest import only_on

import ladderae
from ladderae import cli
from ladderae.cli import commands

HIERARCHY = ["--encoder", "8", "6", "--latent-dim", "4", "2", "--pair-kind", "stochastic", "--batch-norm"]


def _kwargs(*flags):
    args = cli.build_parser().parse_args(["train", *flags])
    return commands._model_kwargs(args, steps_per_epoch=1, likelihood="bernoulli")


def test_latent_dim_takes_one_width_or_a_list_and_batch_norm_is_off_by_default():
    assert (_kwargs()["latent_dim"], _kwargs()["batch_norm"]) == (32, False)
    assert _kwargs("--latent-dim", "8")["latent_dim"] == 8
    kwargs = _kwargs("--latent-dim", "64", "32", "16", "8", "4", "--batch-norm")
    assert kwargs["latent_dim"] == [64, 32, 16, 8, 4] and kwargs["batch_norm"] is True


def test_help_shows_the_hierarchy_flags(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--batch-norm" in text and "64 32 16 8 4" in text


def test_graph_builds_the_declared_hierarchy(tmp_path, capsys):
    assert cli.main(["graph", *HIERARCHY, "--input-shape", "12", "--output", str(tmp_path / "graph.png")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "e1 ~ d1: pair_kind stochastic, units 4" in lines and "e2 ~ d2: pair_kind stochastic" in lines
    assert (tmp_path / "graph.png").stat().st_size > 0


def test_a_list_without_stochastic_pairs_is_an_error_naming_the_flag(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["graph", "--encoder", "8", "6", "--latent-dim", "4", "2", "--output", str(tmp_path / "g.png")])
    message = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and "--latent-dim" in message and "\n" not in message, message


@only_on("tensorflow", "the command's code is the same on both backends and its scoring is tested on JAX in "
         "test_benchmark_hierarchy; on JAX this run compiles every eager operation (18 s here)")
def test_evaluate_scores_a_saved_hierarchy_per_layer(tmp_path, data_root):
    model = ladderae.LadderAE(input_shape=(28, 28, 1), encoder=[8, 6], latent_dim=[4, 2], pair_kind="stochastic",
                              batch_norm=True, seed=0)
    model.save(tmp_path / "model.keras")
    assert cli.main(["evaluate", str(tmp_path / "model.keras"), "--k", "2", "--iwae-images", "5", "--train-size",
                     "50", "--test-size", "50", "--data-dir", str(data_root)]) == 0
    numbers = json.loads((tmp_path / "evaluation.json").read_text())
    assert {"kl_z1", "kl_z", "active_units_z1", "active_units_z", "iwae_nll", "linear_probe_accuracy"} <= set(numbers)
    assert numbers["latent_dim"] == 6 and (tmp_path / "layer_variation.png").stat().st_size > 0
    assert (tmp_path / "prior_variation.png").stat().st_size > 0
    assert not (tmp_path / "latent_scatter.png").exists()  # one latent's picture; a hierarchy gets layer_variation
    assert keras.saving.load_model(tmp_path / "model.keras").network.latents == ["z1"]
