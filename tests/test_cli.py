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


@pytest.mark.parametrize("command", ["train", "evaluate", "graph"])
def test_every_command_has_help(command, capsys):
    code, out = run([command, "--help"], capsys)
    assert code == 0 and "usage: ladderae " + command in out.out


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
    for picture in ("reconstructions", "samples", "history", "pairing_graph", "latent_scatter"):
        assert (tmp_path / f"{picture}.png").stat().st_size > 0

    # `evaluate` scores the saved model and writes its numbers next to it.
    assert cli.main(["evaluate", str(tmp_path / "model.keras"), "--k", "10", "--iwae-images", "20",
                     "--train-size", "300", "--test-size", "100", "--data-dir", str(data_root)]) == 0
    numbers = json.loads((tmp_path / "evaluation.json").read_text())
    assert numbers["iwae_k"] == 10 and numbers["iwae_images"] == 20 and numbers["test_size"] == 100
    assert {"neg_elbo", "iwae_nll", "active_units", "linear_probe_accuracy", "knn_accuracy", "pair_e1_d1"} <= set(numbers)


def test_graph_draws_a_spec_without_training(tmp_path, capsys):
    target = tmp_path / "g.png"
    assert cli.main(["graph", "--encoder", "64", "32", "16", "--pairing", "every", "--pairing-option", "k=2",
                     "--tied", "--output", str(target)]) == 0
    assert target.stat().st_size > 0
    out = capsys.readouterr().out
    assert "e2 ~ d2" in out and "tied True" in out and "1 pairs" in out


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


def test_bench_forwards_every_argument_to_the_benchmark_script(capsys):
    code, out = run(["bench", "--help"], capsys)
    assert code == 0 and "--quick" in out.out and "--sweep-weights" in out.out
    code, out = run(["bench", "--presets", "mnist"], capsys)
    assert code == 2 and "invalid choice: 'mnist'" in out.err


def test_unknown_options_of_other_commands_are_errors(capsys):
    code, out = run(["graph", "--bogus"], capsys)
    assert code == 2 and "unrecognized arguments: --bogus" in out.err


def test_evaluate_of_a_missing_model_file_is_an_error(tmp_path, capsys):
    code, out = run(["evaluate", str(tmp_path / "nope.keras")], capsys)
    assert code == 2 and "nope.keras" in out.err


def test_missing_data_is_an_actionable_error(tmp_path, capsys):
    code, out = run(TINY + ["--data-dir", str(tmp_path), "--output", str(tmp_path)], capsys)
    assert code == 2 and "train-images-idx3-ubyte" in out.err


def test_custom_pairing_rule_example_runs(capsys):
    runpy.run_path(str(REPO / "examples" / "custom_pairing_rule.py"), run_name="__main__")
    assert "pairs: [('e1', 'd1'), ('e2', 'd2')]" in capsys.readouterr().out
