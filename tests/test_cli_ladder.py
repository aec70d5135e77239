"""`ladderae --model ladder-network`: one flag table for both families, Ladder runs on MNIST, a .npy with a labels file
and a CSV with a label column, evaluate and graph on them, and bad input as one line naming the flag."""

import inspect
import json

import numpy as np
import pandas as pd
import pytest
from conftest import script_on_one_backend, squares

import ladderae
from ladderae import cli
from ladderae.cli import spec

LADDER = ["--model", "ladder-network", "--epochs", "1", "--verbose", "0"]


def run(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    return exit_info.value.code, capsys.readouterr().err.strip()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """200 8x8 uint8 images of 3 classes with a labels file (-1 on every other row), a table with a label column,
    and bad label files."""
    folder = tmp_path_factory.mktemp("ladder_data")
    rng = np.random.default_rng(0)
    images, labels = squares(200, rng)
    np.save(folder / "images.npy", images)
    np.save(folder / "labels.npy", np.where(np.arange(200) % 2, labels, -1))
    np.save(folder / "short.npy", labels[:150])
    np.save(folder / "out_of_range.npy", np.where(np.arange(200) == 7, -3, labels))
    np.save(folder / "two_d.npy", labels.reshape(100, 2))
    np.save(folder / "floats.npy", labels.astype("float32"))
    pd.DataFrame({"size": rng.normal(size=200) + labels, "colour": rng.choice(["red", "blue"], 200),
                  "species": labels}).to_csv(folder / "table.csv", index=False)
    untrained = ladderae.LadderNetwork(64, encoder=[4], n_classes=3, seed=0)
    (folder / "ladder").mkdir()
    untrained.save(folder / "ladder" / "model.keras")
    return folder


def test_one_table_lists_each_flag_once_with_the_families_that_take_it(capsys):
    names = [(flag.name, command) for flag in spec.FLAGS for command in flag.commands]
    assert len(names) == len(set(names))
    encoder = next(flag for flag in spec.FLAGS if flag.name == "--encoder")
    assert encoder.defaults == {"autoencoder": [512, 256], "ladder-network": [1000, 500, 250, 250, 250]}
    assert spec.FLAG_FOR_ARGUMENT["n_labels"] == "--labelled" and spec.FLAG_FOR_ARGUMENT["variational"] == \
        "--deterministic"
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--denoising-weight" in text and "[ladder-network only]" in text and "[autoencoder only]" in text
    assert "ladder-network: 1000 500 250 250 250" in text


def test_a_ladder_is_offered_the_registered_kinds_that_hold_no_latent(monkeypatch):
    """--pair-kind's ladder choices are read off each kind's `holds_latents`, a kind a user registers included."""
    monkeypatch.setattr(ladderae.pair_kinds.pair_kinds, "_entries", dict(ladderae.pair_kinds.pair_kinds._entries))

    @ladderae.pair_kind("test_echo")
    class Echo(ladderae.PairKind):
        pass

    kinds = next(flag for flag in spec.FLAGS if flag.name == "--pair-kind")
    ladder = set(kinds.choices(spec.LADDER))  # (and whatever other tests of this worker registered)
    assert {"consistency", "lateral", "test_echo"} <= ladder and not {"stochastic", "bottom_up"} & ladder
    assert {"stochastic", "bottom_up", "test_echo"} <= set(kinds.choices(spec.AUTOENCODER))


@pytest.mark.parametrize("family, model", [(spec.AUTOENCODER, ladderae.LadderAE),
                                           (spec.LADDER, ladderae.LadderNetwork)])
def test_a_family_s_defaults_are_its_class_s_own(family, model):
    """Every model flag left out gives what the constructor gives (the likelihood and the classes the command
    works out from the data)."""
    args = cli.build_parser().parse_args(["train", "--model", family])
    kwargs = spec.model_kwargs(family, args)
    own = {name: p.default for name, p in inspect.signature(model.__init__).parameters.items()
           if p.default is not inspect.Parameter.empty}
    for name, value in kwargs.items():
        if name != "likelihood":
            assert value == (list(own[name]) if isinstance(own[name], tuple) else own[name]), name
    left_to_the_class = {"n_classes"} if family == spec.LADDER else {"pairing_options"}
    assert set(own) - set(kwargs) - {"input_dim", "input_shape", "seed"} == left_to_the_class


@script_on_one_backend
def test_mnist_with_a_balanced_draw_of_100_labels(tmp_path, data_root, capsys):
    """(`evaluate` is run on the runs below: on MNIST it reads all 70,000 digits again.)"""
    argv = ["train", *LADDER, "--labelled", "100", "--train-size", "500", "--validation-split", "0", "--test-size",
            "200", "--encoder", "16", "--batch-size", "100", "--data-dir", str(data_root), "--output", str(tmp_path)]
    assert cli.main(argv) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["model"] == "ladder-network" and metrics["label_counts"]["per_class"] == [10] * 10
    assert metrics["label_counts"]["unlabelled"] == 400 and metrics["test_size"] == 200
    assert 0 <= metrics["test_error"] <= 1 and metrics["history"]["test_error"] == [pytest.approx(metrics["test_error"])]
    assert metrics["settings"]["labelled"] == 100 and metrics["settings"]["denoising_weight"] == [1.0]
    for picture in ("error_curve", "denoised", "pairing_graph"):
        assert (tmp_path / f"{picture}.png").stat().st_size > 0
    assert "100 of the training rows labelled, 10 classes" in capsys.readouterr().out


def test_own_images_with_a_labels_file_train_and_evaluate(tmp_path, files):
    """-1 rows train unlabelled, beside a validation split; evaluate finds the data and labels again."""
    argv = ["train", *LADDER, "--data", str(files / "images.npy"), "--labels", str(files / "labels.npy"),
            "--encoder", "8", "--batch-size", "81", "--denoising-weight", "10", "1", "0.1", "--noise-std", "0.2",
            "--output", str(tmp_path)]
    assert cli.main(argv) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert (metrics["train_size"], metrics["validation_size"]) == (162, 18) and "val_error" in metrics["history"]
    assert 0 < metrics["label_counts"]["labelled"] < 162 and metrics["test_size"] < 20  # the labelled test rows
    assert metrics["labels_source"] == str((files / "labels.npy").resolve())
    assert metrics["settings"]["denoising_weight"] == [10, 1, 0.1] and metrics["settings"]["noise_std"] == [0.2]
    assert cli.main(["evaluate", str(tmp_path / "model.keras")]) == 0
    numbers = json.loads((tmp_path / "evaluation.json").read_text())
    assert numbers["test_error"] == pytest.approx(metrics["test_error"]) and numbers["test_size"] == metrics["test_size"]


@script_on_one_backend
def test_a_csv_with_a_label_column_trains_and_evaluates(tmp_path, files):
    """Every row labelled: plain fit(x, y) on the other columns as the table's schema encodes them."""
    argv = ["train", *LADDER, "--data", str(files / "table.csv"), "--label-column", "species", "--encoder", "8",
            "--pairing", "top", "--validation-split", "0", "--batch-size", "90", "--output", str(tmp_path)]
    assert cli.main(argv) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["kind"] == "table" and metrics["label_counts"]["unlabelled"] == 0 and metrics["n_classes"] == 3
    assert [c["name"] for c in metrics["schema"]["columns"]] == ["size", "colour"]
    assert cli.main(["evaluate", str(tmp_path / "model.keras")]) == 0
    numbers = json.loads((tmp_path / "evaluation.json").read_text())
    assert numbers["test_error"] == pytest.approx(metrics["test_error"]) and numbers["test_size"] == 20


def test_graph_draws_a_ladder_network_and_prints_its_pairs(tmp_path, capsys):
    target = tmp_path / "ladder.png"
    assert cli.main(["graph", "--model", "ladder-network", "--encoder", "100", "50", "--pairing", "all",
                     "--output", str(target)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("x ~ x_hat: pair_kind lateral") and "z ~ z_hat" in lines[3]
    assert lines[-1] == f"4 pairs; drawn to {target}" and target.stat().st_size > 0


IMAGES = ["--data", "{files}/images.npy", "--encoder", "4"]
BAD = {
    "labels of the wrong length": (IMAGES + ["--labels", "{files}/short.npy"], "--labels"),
    "a label out of range": (IMAGES + ["--labels", "{files}/out_of_range.npy"], "--labels"),
    "a label the --n-classes given leave out": (IMAGES + ["--labels", "{files}/labels.npy", "--n-classes", "2"],
                                                "--labels"),
    "labels of two dimensions": (IMAGES + ["--labels", "{files}/two_d.npy"], "--labels"),
    "labels that are not integers": (IMAGES + ["--labels", "{files}/floats.npy"], "--labels"),
    "a labels file that is not a .npy": (IMAGES + ["--labels", "{files}/table.csv"], "--labels"),
    "an array without labels": (IMAGES, "--labels"),
    "more labels than labelled rows": (IMAGES + ["--labels", "{files}/labels.npy", "--labelled", "150"],
                                       "--labelled"),
    "fewer labels than classes": (IMAGES + ["--labels", "{files}/labels.npy", "--labelled", "2"], "--labelled"),
    "labels not a multiple of the classes": (IMAGES + ["--labels", "{files}/labels.npy", "--labelled", "10"],
                                             "--labelled"),
    "a label column that does not exist": (["--data", "{files}/table.csv", "--label-column", "kind"],
                                           "--label-column"),
    "a label column of an image array": (IMAGES + ["--label-column", "species"], "--label-column"),
    "a labels file for a CSV": (["--data", "{files}/table.csv", "--labels", "{files}/labels.npy"], "--labels"),
    "an autoencoder's flag": (IMAGES + ["--labels", "{files}/labels.npy", "--latent-dim", "4"], "--latent-dim"),
    "an autoencoder's data flag": (IMAGES + ["--binarize"], "--binarize"),
    "an autoencoder's pairing rule": (IMAGES + ["--pairing", "mirror"], "--pairing"),
    "a pair kind the ladder does not build": (IMAGES + ["--pair-kind", "stochastic"], "--pair-kind"),
    "a ladder's flag on an autoencoder": (["--model", "autoencoder", "--noise-std", "0.3"], "--noise-std"),
    "labels on an autoencoder": (["--model", "autoencoder", "--labels", "{files}/labels.npy"], "--labels"),
    "a denoising weight per pair, miscounted": (IMAGES + ["--labels", "{files}/labels.npy", "--denoising-weight",
                                                          "1", "2"], "--denoising-weight"),
}


@pytest.mark.parametrize("extra, flag", BAD.values(), ids=BAD.keys())
def test_bad_input_is_one_line_naming_the_flag(extra, flag, tmp_path, files, capsys):
    argv = ["train", *LADDER, *(arg.replace("{files}", str(files)) for arg in extra), "--output", str(tmp_path)]
    code, message = run(argv, capsys)
    assert code == 2 and f"argument {flag}:" in message and "\n" not in message, message
    assert not (tmp_path / "model.keras").exists()


@pytest.mark.parametrize("extra", [["--k", "5"], ["--iwae-images", "10"], ["--train-size", "50"], ["--binarize"]])
def test_evaluate_refuses_an_autoencoder_s_scores_on_a_ladder(extra, files, capsys):
    code, message = run(["evaluate", str(files / "ladder" / "model.keras"), *extra], capsys)
    assert code == 2 and f"argument {extra[0]}: ladder-network models do not take it" in message, message
    assert "\n" not in message
