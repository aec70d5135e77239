"""The `ladderae` command: help, a tiny real run, and bad arguments."""

import json
import runpy

import keras
import pytest
from conftest import REPO

from ladderae import cli

TINY = ["train", "--encoder", "32", "--latent-dim", "4", "--epochs", "1", "--train-size", "500",
        "--test-size", "200", "--verbose", "0"]


def run(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    return exit_info.value.code, capsys.readouterr()


def test_help_lists_every_model_option(capsys):
    code, out = run(["train", "--help"], capsys)
    assert code == 0
    for flag in ("--encoder", "--latent-dim", "--pairing", "--pairing-option", "--stop-gradient", "--tied",
                 "--consistency-weight", "--consistency-loss", "--warmup-epochs", "--free-bits", "--data-dir"):
        assert flag in out.out


def test_a_tiny_run_saves_a_loadable_model_and_metrics(tmp_path, data_root, capsys):
    argv = TINY + ["--data-dir", str(data_root), "--output", str(tmp_path), "--stop-gradient", "local",
                   "--pairing", "depths", "--pairing-option", "depths=[1]", "--warmup-epochs", "0.5"]
    assert cli.main(argv) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["train_size"] == 500 and metrics["test_size"] == 200
    assert {"neg_elbo", "kl", "reconstruction", "pair_e1_d1"} <= set(metrics["test"])
    assert 0 < metrics["test"]["neg_elbo"] < 784 * 0.7  # better than a coin per pixel
    model = keras.saving.load_model(tmp_path / "model.keras")
    assert model.pairs == [("e1", "d1")] and model.beta.steps == 2  # half of 4 steps per epoch
    assert "neg_elbo" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--stop-gradient", "sideways"], "invalid choice: 'sideways'"),
        (["--encoder", "32", "0"], "`encoder` must be a non-empty list of positive integers"),
        (["--pairing", "nearest"], "Unknown pairing rule 'nearest'"),
        (["--pairing-option", "depths"], "expected KEY=VALUE"),
        (["--train-size", "70000"], "`train_size` must be between 1 and 60000"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(extra, message, tmp_path, data_root, capsys):
    code, out = run(TINY + ["--data-dir", str(data_root), "--output", str(tmp_path)] + extra, capsys)
    assert code == 2 and message in out.err


def test_missing_data_is_an_actionable_error(tmp_path, capsys):
    code, out = run(TINY + ["--data-dir", str(tmp_path), "--output", str(tmp_path)], capsys)
    assert code == 2 and "train-images-idx3-ubyte" in out.err


def test_custom_pairing_rule_example_runs(capsys):
    runpy.run_path(str(REPO / "examples" / "custom_pairing_rule.py"), run_name="__main__")
    assert "pairs: [('e1', 'd1'), ('e2', 'd2')]" in capsys.readouterr().out
