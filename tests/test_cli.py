"""The `ladderae` command: help, tiny real runs on MNIST, a .npy and a CSV, plugins, TensorBoard and bad arguments."""

import json
import os
import re
import runpy
import shlex
import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest
from conftest import REPO, script_on_one_backend, squares

from ladderae import cli, data, likelihoods, losses, pair_kinds, pairing, stop_gradient
from ladderae.cli import parser

TINY = ["train", "--encoder", "32", "--latent-dim", "4", "--epochs", "1", "--train-size", "500",
        "--test-size", "200", "--verbose", "0"]
SMALL = ["--encoder", "16", "--latent-dim", "2", "--epochs", "1", "--batch-size", "64", "--verbose", "0"]
PLUGIN = REPO / "tests" / "_cli_plugin.py"


def run(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    return exit_info.value.code, capsys.readouterr()


@pytest.fixture
def registries(monkeypatch):
    """Whatever a test registers (plugins, the example's rule) is gone after it, and the plugin is imported anew."""
    for registry in (pairing.pairing_rules, losses.pair_losses, stop_gradient.modes, likelihoods.likelihoods,
                     pair_kinds.pair_kinds, data.sources):
        monkeypatch.setattr(registry, "_entries", dict(registry._entries))
    yield
    for name in [n for n in sys.modules if n.startswith("ladderae_plugin_")]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Small generated data sets: uint8 images (with labels), standardised vectors, a table, and bad ones."""
    folder = tmp_path_factory.mktemp("cli_data")
    rng = np.random.default_rng(0)
    images, labels = squares(300, rng)
    np.savez(folder / "images.npz", x=images, y=labels)
    np.save(folder / "images.npy", images)
    np.save(folder / "vectors.npy", rng.normal(size=(300, 6)).astype("float32"))
    np.save(folder / "other_width.npy", rng.normal(size=(50, 7)).astype("float32"))
    with_nan = rng.normal(size=(100, 6))
    with_nan[17, 2] = np.nan
    np.save(folder / "nan.npy", with_nan)
    np.save(folder / "flat.npy", np.arange(20.0))
    np.save(folder / "strings.npy", np.array([["a", "b"]] * 10))
    np.save(folder / "counts.npy", rng.integers(0, 10, (100, 6)).astype("float32"))
    table = pd.DataFrame({
        "size": rng.normal(10, 2, 300),
        "colour": rng.choice(["red", "green", "blue"], 300),
        "sold": rng.integers(0, 2, 300),
    })
    table.to_csv(folder / "table.csv", index=False)
    table.drop(columns="colour").to_csv(folder / "table_no_colour.csv", index=False)
    (folder / "a_file").write_text("not a folder")
    return folder


def event_tags(folder):
    """{tag: number of records} over the TensorBoard event files under `folder`."""
    import tensorflow as tf

    tags = {}
    for path in folder.rglob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                tags[value.tag] = tags.get(value.tag, 0) + 1
    return tags


@pytest.mark.parametrize("command", ["train", "evaluate", "graph"])
def test_every_command_has_help(command, capsys):
    code, out = run([command, "--help"], capsys)
    assert code == 0 and "usage: ladderae " + command in out.out


def test_help_lists_every_model_option_and_the_registered_names(capsys):
    code, out = run(["train", "--help"], capsys)
    assert code == 0
    for flag in ("--encoder", "--latent-dim", "--conv", "--kernel-size", "--strides", "--input-shape", "--pairing",
                 "--pair-kind", "--objective", "--k",
                 "--pairing-option", "--stop-gradient", "--tied", "--consistency-weight", "--consistency-loss",
                 "--warmup-epochs", "--free-bits", "--data", "--test-data", "--validation-split", "--binarize",
                 "--tensorboard", "--plugin"):
        assert flag in out.out
    text = " ".join(out.out.split())
    for name in stop_gradient.modes.names + losses.pair_losses.names + likelihoods.likelihoods.names:
        assert name in text


@script_on_one_backend
def test_a_tiny_mnist_run_saves_a_loadable_model_and_metrics(tmp_path, data_root, capsys):
    argv = TINY + ["--data-dir", str(data_root), "--output", str(tmp_path), "--stop-gradient", "local",
                   "--pairing", "depths", "--pairing-option", "depths=[1]", "--warmup-epochs", "0.5"]
    assert cli.main(argv) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert (metrics["train_size"], metrics["validation_size"], metrics["test_size"]) == (450, 50, 200)
    assert metrics["binarized"] and metrics["likelihood"] == "bernoulli" and metrics["example_shape"] == [28, 28, 1]
    assert {"neg_elbo", "kl", "reconstruction", "pair_e1_d1"} <= set(metrics["test"])
    assert {"val_neg_elbo", "val_pair_e1_d1"} <= set(metrics["history"])
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
    expected = {"neg_elbo", "iwae_nll", "active_units", "linear_probe_accuracy", "knn_accuracy", "pair_e1_d1"}
    assert expected <= set(numbers)


def test_own_images_train_evaluate_and_write_tensorboard(tmp_path, files, capsys):
    """uint8 images from a .npz with labels: scaled to [0, 1], Bernoulli, not binarised; TensorBoard read back."""
    out, board = tmp_path / "run", tmp_path / "board"
    argv = ["train", "--data", str(files / "images.npz"), *SMALL, "--epochs", "2", "--learning-rate", "0.01",
            "--image-every", "1", "--output", str(out), "--tensorboard", str(board)]
    assert cli.main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["train_size"], metrics["validation_size"], metrics["test_size"]) == (243, 27, 30)
    assert metrics["kind"] == "images" and metrics["example_shape"] == [8, 8, 1]
    assert metrics["likelihood"] == "bernoulli" and not metrics["binarized"]
    assert 0 < metrics["test"]["neg_elbo"] < 64 * np.log(2)  # better than a coin per pixel, on grey levels
    for picture in ("reconstructions", "samples", "latent_scatter", "history"):
        assert (out / f"{picture}.png").stat().st_size > 0
    tags = event_tags(board)
    for term in ("loss", "reconstruction", "kl", "neg_elbo", "consistency", "pair_e1_d1"):
        assert tags.get(f"epoch_{term}", 0) == 4, term  # 2 epochs, training and validation
    assert tags["reconstructions"] == tags["samples"] == 2
    capsys.readouterr()

    # evaluate reads the data, seed and split from metrics.json: it scores the same held-out rows, the same way.
    assert cli.main(["evaluate", str(out / "model.keras"), "--k", "5"]) == 0
    numbers = json.loads((out / "evaluation.json").read_text())
    assert numbers["test_size"] == 30 and not numbers["binarized"] and "knn_accuracy" in numbers
    assert numbers["neg_elbo"] == pytest.approx(metrics["test"]["neg_elbo"], rel=0.05)


@script_on_one_backend
def test_a_csv_table_trains_and_evaluates(tmp_path, files, capsys):
    out = tmp_path / "table"
    assert cli.main(["train", "--data", str(files / "table.csv"), *SMALL, "--output", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["kind"] == "table" and metrics["likelihood"] == "columns"
    assert {"nll_size", "nll_colour", "nll_sold", "neg_elbo"} <= set(metrics["test"])
    assert (out / "columns.png").stat().st_size > 0 and not (out / "reconstructions.png").exists()
    assert cli.main(["evaluate", str(out / "model.keras"), "--data", str(files / "table.csv"), "--k", "5"]) == 0
    numbers = json.loads((out / "evaluation.json").read_text())
    assert numbers["test_size"] == 30 and np.isfinite(numbers["iwae_nll"])
    code, err = run(["evaluate", str(out / "model.keras"), "--data", str(files / "table_no_colour.csv")], capsys)
    assert code == 2 and "--data" in err.err and "colour" in err.err


def test_deterministic_vectors_train_without_prior_pictures(tmp_path, files, capsys):
    """Standardised vectors: gaussian_unit chosen, no image pictures, and a plain autoencoder gets no samples."""
    out = tmp_path / "vectors"
    assert cli.main(["train", "--data", str(files / "vectors.npy"), *SMALL, "--deterministic",
                     "--output", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["likelihood"] == "gaussian_unit" and metrics["kind"] == "vectors"
    assert "kl" not in metrics["test"] and np.isfinite(metrics["test"]["reconstruction"])
    assert sorted(p.name for p in out.glob("*.png")) == ["history.png", "pairing_graph.png"]
    assert cli.main(["evaluate", str(out / "model.keras"), "--data", str(files / "vectors.npy")]) == 0
    numbers = json.loads((out / "evaluation.json").read_text())  # no ELBO without a posterior: the loss terms
    assert numbers["test_size"] == 30 and "iwae_nll" not in numbers and np.isfinite(numbers["reconstruction"])
    code, err = run(["evaluate", str(out / "model.keras"), "--data", str(files / "images.npy")], capsys)
    assert code == 2 and "argument --data" in err.err and "(8, 8, 1)" in err.err and "shape (6,)" in err.err
    for flag in ("--k", "--iwae-images"):  # a bound the model has not: said, not ignored
        code, err = run(["evaluate", str(out / "model.keras"), "--data", str(files / "vectors.npy"), flag, "10"],
                        capsys)
        assert code == 2 and f"argument {flag}" in err.err and "deterministic" in err.err and "\n" not in err.err.strip()


def test_conv_flags_build_a_conv_model_and_a_plain_autoencoder_draws_no_samples(tmp_path, files):
    out = tmp_path / "conv"
    assert cli.main(["train", "--data", str(files / "images.npy"), *SMALL, "--conv", "4", "--kernel-size", "3",
                     "--strides", "2", "--encoder", "--deterministic", "--output", str(out)]) == 0
    model = keras.saving.load_model(out / "model.keras")
    assert model.graph.nodes["e1"]["layer"] == "conv" and model.graph.nodes["e1"]["shape"] == (4, 4, 4)
    assert (out / "reconstructions.png").stat().st_size > 0 and not (out / "samples.png").exists()


def test_a_damaged_model_file_is_one_line_naming_it(tmp_path, capsys):
    (tmp_path / "model.keras").write_bytes(b"PK\x03\x04 not a whole zip")
    code, out = run(["evaluate", str(tmp_path / "model.keras")], capsys)
    assert code == 2 and "argument model" in out.err and "damaged" in out.err and "\n" not in out.err.strip()


@script_on_one_backend
def test_a_plugin_registers_a_rule_loss_mode_likelihood_and_data_set_for_the_cli(tmp_path, files, registries, capsys):
    out = tmp_path / "plugin"
    names = ["--pairing", "toy_first_only", "--consistency-loss", "toy_l1", "--stop-gradient", "toy_frozen_encoder",
             "--likelihood", "toy_unit_gaussian"]
    code, err = run(["train", "--data", str(files / "vectors.npy"), *SMALL, *names, "--output", str(out)], capsys)
    assert code == 2 and "invalid choice: 'toy_first_only'" in err.err  # unknown without the plugin
    argv = ["train", "--plugin", str(PLUGIN), "--data", "toy_vectors", *SMALL, "--encoder", "16", "8",
            *names, "--output", str(out)]
    assert cli.main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["likelihood"] == "toy_unit_gaussian" and set(metrics["test"]) >= {"pair_e1_d1", "consistency"}
    assert "pair_e2_d2" not in metrics["test"]
    assert metrics["data"] == "toy_vectors" and metrics["kind"] == "vectors"  # the plugin's data set
    assert cli.main(["evaluate", str(out / "model.keras"), "--plugin", str(PLUGIN), "--data", "toy_vectors",
                     "--k", "5"]) == 0
    numbers = json.loads((out / "evaluation.json").read_text())
    assert numbers["pair_e1_d1"] >= 0 and np.isfinite(numbers["neg_elbo"])
    assert cli.main(["graph", "--plugin", str(PLUGIN), "--pair-kind", "toy_gap", "--output", str(out / "g.png")]) == 0
    assert "e1 ~ d1: pair_kind toy_gap" in capsys.readouterr().out


def test_the_custom_pairing_rule_example_works_from_the_cli(tmp_path, registries, capsys):
    target = tmp_path / "g.png"
    assert cli.main(["graph", "--plugin", str(REPO / "examples" / "custom_pairing_rule.py"), "--encoder", "512",
                     "256", "64", "--pairing", "wide_only", "--pairing-option", "min_units=200",
                     "--output", str(target)]) == 0
    assert "2 pairs" in capsys.readouterr().out and target.stat().st_size > 0


def test_every_command_line_in_the_readme_parses(registries, monkeypatch):
    """The README's `ladderae ...` lines use real flags and names (plugins imported, nothing run)."""
    monkeypatch.chdir(REPO)
    blocks = re.findall(r"```bash\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    lines = [line.split("#")[0] for block in blocks for line in block.splitlines() if line.startswith("ladderae ")]
    assert len(lines) >= 6
    for line in lines:
        argv = shlex.split(line)[1:]
        parser._load_plugins(argv)
        args = cli.build_parser().parse_args(argv)
        assert args.command in ("train", "evaluate", "graph"), line


def test_custom_pairing_rule_example_runs(registries, capsys):
    runpy.run_path(str(REPO / "examples" / "custom_pairing_rule.py"), run_name="__main__")
    assert "pairs: [('e1', 'd1'), ('e2', 'd2')]" in capsys.readouterr().out


def test_graph_draws_a_spec_without_training(tmp_path, capsys):
    target = tmp_path / "g.png"
    assert cli.main(["graph", "--encoder", "64", "32", "16", "--pairing", "every", "--pairing-option", "k=2",
                     "--tied", "--output", str(target)]) == 0
    assert target.stat().st_size > 0
    out = capsys.readouterr().out
    assert "e2 ~ d2" in out and "making d1 reuses the kernel of e2" in out and "1 pairs" in out


BAD = [
    (["--epochs", "0"], "--epochs"),
    (["--epochs", "-1"], "--epochs"),
    (["--batch-size", "0"], "--batch-size"),
    (["--learning-rate", "-1"], "--learning-rate"),
    (["--learning-rate", "nan"], "--learning-rate"),
    (["--consistency-weight", "nan"], "--consistency-weight"),
    (["--beta", "inf"], "--beta"),
    (["--k", "3"], "--k"),
    (["--activation", "sparkly"], "--activation"),  # the ELBO takes one sample: the model's own error, under its flag
    (["--free-bits", "-0.5"], "--free-bits"),
    (["--seed", "-1"], "--seed"),
    (["--encoder", "32", "0"], "--encoder"),
    (["--latent-dim", "two"], "--latent-dim"),
    (["--stop-gradient", "sideways"], "--stop-gradient"),
    (["--pairing", "nearest"], "--pairing"),
    (["--consistency-loss", "l1"], "--consistency-loss"),
    (["--likelihood", "poisson"], "--likelihood"),
    (["--pairing-option", "depths"], "--pairing-option"),
    (["--validation-split", "1"], "--validation-split"),
    (["--plugin", "no_such_module_anywhere"], "--plugin"),
    (["--train-size", "70000"], "--train-size"),
    (["--output", "{files}/a_file/run"], "--output"),
    (["--tensorboard", "{files}/a_file/tb"], "--tensorboard"),
    (["--data", "{files}/missing.npy"], "--data"),
    (["--data", "{files}/nan.npy"], "--data"),
    (["--data", "{files}/flat.npy"], "--data"),
    (["--data", "{files}/strings.npy"], "--data"),
    (["--data", "{files}/vectors.npy", "--test-data", "{files}/other_width.npy"], "--test-data"),
    (["--data", "{files}/vectors.npy", "--test-data", "{files}/table.csv"], "--test-data"),
    (["--data", "{files}/counts.npy", "--likelihood", "bernoulli"], "--likelihood"),
    (["--data", "{files}/vectors.npy", "--binarize"], "--binarize"),
    (["--data", "{files}/images.npy", "--likelihood", "gaussian"], "--likelihood"),
    (["--data", "{files}/table.csv", "--likelihood", "bernoulli"], "--likelihood"),
    (["--data", "{files}/vectors.npy", "--input-shape", "5", "5"], "--input-shape"),
    (["--data", "{files}/vectors.npy", "--learning-rate", "1e30"], "--learning-rate"),  # diverges: nothing saved
    (["--data", "{files}/vectors.npy", "--conv", "4"], "--conv"),  # the model's own errors get their flag too
    (["--pairing", "depths", "--pairing-option", "depths=[5]"], "--pairing-option"),
    (["--data", "{files}/images.npy", "--conv", "4", "--kernel-size", "3", "3"], "--kernel-size"),
]


@pytest.mark.parametrize("extra, flag", BAD, ids=[" ".join(extra).replace("{files}/", "") for extra, _ in BAD])
def test_bad_arguments_exit_2_with_one_line_naming_the_flag(extra, flag, tmp_path, data_root, files, capsys):
    extra = [arg.replace("{files}", str(files)) for arg in extra]
    argv = ["train", "--encoder", "8", "--latent-dim", "2", "--epochs", "1", "--verbose", "0"]
    code, out = run(argv + ["--data-dir", str(data_root), "--output", str(tmp_path / "run")] + extra, capsys)
    message = out.err.strip()
    assert code == 2 and flag in message and "\n" not in message and "Traceback" not in message, message
    assert not (tmp_path / "run" / "model.keras").exists()


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
    assert code == 2 and "nope.keras" in out.err and "\n" not in out.err.strip()


def test_missing_mnist_is_an_actionable_error(tmp_path, capsys):
    code, out = run(TINY + ["--data-dir", str(tmp_path), "--output", str(tmp_path)], capsys)
    assert code == 2 and "train-images-idx3-ubyte" in out.err and "\n" not in out.err.strip()
    assert "argument --data-dir" in out.err


def test_the_command_shows_no_tensorflow_log_lines_but_what_the_user_should_see(tmp_path):
    """A fresh process on this backend: TensorFlow's C++ lines never reach the console, Python's warnings do.

    The plugin imports TensorFlow after the command started, as a tf.data input or
    TensorBoard does on JAX, and warns.
    """
    plugin = tmp_path / "loads_tf.py"
    plugin.write_text("import warnings\nimport tensorflow\nwarnings.warn('a warning the user should see')\n")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"}  # the filter must not rely on the log level
    done = subprocess.run([sys.executable, "-m", "ladderae.cli", "graph", "--plugin", str(plugin), "--encoder", "8",
                           "--latent-dim", "2", "--output", str(tmp_path / "g.png")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0 and "1 pairs" in done.stdout, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2 and "UserWarning: a warning the user should see" in lines[0], done.stderr
