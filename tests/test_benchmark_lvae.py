"""The Ladder VAE paper's protocol (`--protocol lvae`): its plan at the reference code's settings, one generative model
for both rows, the reference's clipped Adam step, and --quick end to end."""

import dataclasses
import json
import sys

import keras
import numpy as np
import pytest
from conftest import REPO, only_on, quick_protocol_on_tensorflow
from keras import ops

import ladderae
from ladderae.nn import activations

sys.path.insert(0, str(REPO / "benchmarks"))
import mnist_vs_vae  # noqa: E402
from mnistbench import plan, report, run, spec  # noqa: E402
from mnistbench.clipping import ClippedAdam  # noqa: E402

ROWS = [spec.LVAE_PAPER_BOTTOM_UP, spec.LVAE_PAPER_LADDER]
KINDS = {spec.LVAE_PAPER_BOTTOM_UP: "bottom_up", spec.LVAE_PAPER_LADDER: "stochastic"}
TRAIN, TEST = 60_000, 10_000  # MNIST's: the reference trains on all 60,000 (train + valid, run_models.py 401)
full_size_on_tensorflow = only_on(
    "tensorflow",
    "building the full 10-layer models takes about 13 s each on JAX; the tiny twin below runs on both",
)


def _args(*argv):
    args = mnist_vs_vae.parse(["--protocol", "lvae", *argv])
    plan.resolve(args, plan.DataSizes(train=TRAIN, test=TEST, image_shape=(28, 28)))
    return args


def _planned(*argv):
    return [s for s, _ in plan.plan_lvae(_args(*argv), pytest.fail)]


# ------------------------------------------------------------------ the plan


def test_the_plan_has_the_two_rows_at_the_reference_codes_settings():
    specs = _planned()
    assert [(s.seed, s.row) for s in specs] == [(0, row) for row in ROWS]  # 1 seed by default
    assert {(s.preset, s.epochs, s.batch_size, s.learning_rate, s.adam_epsilon, s.clip_global_norm, s.clip_value,
             s.backend, s.train_size, s.iwae_k, s.iwae_images, s.test_size, s.stages) for s in specs} == {
        ("wide", 2000, 256, 2e-4, 1e-4, 4.0, 0.9, "jax", TRAIN, 5000, TEST, TEST, None)}
    for s in specs:
        assert s.kwargs == {
            "encoder": [512, 512, 256, 256, 128, 128, 64, 64, 32, 32],  # -mlp_layers 2 of each -hidden_sizes width
            "latent_dim": [64, 32, 16, 8, 4], "pairing": "every", "pairing_options": {"k": 2},
            "batch_norm": True, "activation": "leaky_relu_0.01", "warmup": 200, "pair_kind": KINDS[s.row]}
    assert not any(s.run_eagerly for s in specs)
    seeds = _planned("--seeds", "3", "--epochs", "50")
    assert [(s.seed, s.row) for s in seeds] == [(seed, row) for seed in range(3) for row in ROWS]  # seed-major
    assert {s.epochs for s in seeds} == {50} and {s.kwargs["warmup"] for s in seeds} == {200}  # the warm-up is the row's
    assert _args().out.name == "lvae_paper"


def test_rows_are_picked_by_name_and_the_speed_rounds_take_the_training_step():
    assert [s.row for s in _planned("--rows", spec.LVAE_PAPER_LADDER)] == [spec.LVAE_PAPER_LADDER]
    args = _args("--speed-rounds", "2", "--speed-epochs", "3")
    trained = {s.row: s for s, _ in plan.plan_lvae(args, pytest.fail)}
    speed = plan.plan_lvae_speed(args)
    assert [(s.seed, s.row) for s, _ in speed] == [(r, row) for r in (0, 1) for row in ROWS]
    for s, run_id in speed:
        assert s.speed_only and s.epochs == 4 and run_id.startswith(f"lvae-speed-{s.seed}-")
        t = trained[s.row]
        assert dataclasses.replace(s, speed_only=False, seed=t.seed, epochs=t.epochs, plots=t.plots) == t


def test_a_row_whose_pair_kind_is_not_registered_is_left_out_and_logged(monkeypatch):
    every = spec.lvae_paper_rows()
    renamed = [every[0], dataclasses.replace(every[1], kwargs={**every[1].kwargs, "pair_kind": "no_such_kind"})]
    monkeypatch.setattr(plan, "lvae_paper_rows", lambda: renamed)
    skipped = []
    planned = {s.row for s, _ in plan.plan_lvae(_args(), skipped.append)}
    assert spec.LVAE_PAPER_LADDER not in planned
    assert any(f"{spec.LVAE_PAPER_LADDER!r}" in m and "pair_kind='no_such_kind'" in m for m in skipped)


# ------------------------------------------------------------------ the model each run builds


def _small(s, **sizes):
    """`s` with tiny widths and everything else as planned (warm-up, activation, pairing, batch norm, step)."""
    return dataclasses.replace(s, kwargs={**s.kwargs, **sizes})


def test_each_run_warms_up_over_200_epochs_of_its_steps_with_the_reference_step_and_leaky_relu():
    from ladderae.data import pipeline

    steps_per_epoch = len(pipeline.DynamicBinarization(np.zeros((TRAIN, 1), "float32"), 256))
    assert steps_per_epoch == 235  # 234 full batches and one of 96
    for s in _planned():
        model = run.build_model(_small(s, encoder=[6, 6, 5, 5, 4, 4], latent_dim=[3, 2, 2]), (784,), steps_per_epoch)
        assert model.beta == ladderae.LinearWarmup(200 * steps_per_epoch)  # from 0 to 1 over 47,000 steps
        assert isinstance(model.optimizer, ClippedAdam)
        assert (model.optimizer.global_norm, model.optimizer.value) == (4.0, 0.9)
        assert float(model.optimizer.learning_rate) == pytest.approx(2e-4) and model.optimizer.epsilon == 1e-4
        assert {model.graph.nodes[n].get("activation") for n in ("e1", "d1")} == {"leaky_relu_0.01"}
        assert model.graph.nodes["e1"]["batch_norm"] and model.graph.nodes["d1"]["batch_norm"]
    assert model.network.layers["e1"].activation is activations.leaky_relu_001  # Lasagne's slope, not Keras' 0.2


def _generative(model):
    """{variable path below the model's name: shape} of the generative model p(x, z): every weight but the encoder's,
    the top latent's posterior heads and the pairs' inference layers."""
    encoder = {n for n in model.graph.nodes if model.graph.nodes[n].get("role") == "encoder"}
    inference = ("_posterior", "_up_encoder", "z_mean", "z_log_var")
    found = {}
    for v in model.trainable_variables:
        path = v.path.split("/", 1)[1]
        layer = path.split("/")[0]
        if layer not in encoder and not layer.endswith(inference) and layer not in inference:
            found[path] = tuple(v.shape)
    return found


def _row_models(**sizes):
    return {s.row: run.build_model(_small(s, **sizes), (784,), steps_per_epoch=1) for s in _planned()}


def _check_one_generative_model(models, pairs, latents):
    bottom_up, ladder = models[spec.LVAE_PAPER_BOTTOM_UP], models[spec.LVAE_PAPER_LADDER]
    for model in models.values():
        assert model.pairs == pairs and model.network.latents == latents
    assert _generative(bottom_up) == _generative(ladder)
    assert {p.split("/")[0] for p in _generative(ladder)} >= {"x_hat", "d1", *(f"{z}_prior" for z in latents)}
    # Inference is what differs: the bottom-up posterior reads e_i alone and its sample continues up the encoder.
    assert any("_up_encoder" in v.path for v in bottom_up.trainable_variables)
    assert not any("_up_encoder" in v.path for v in ladder.trainable_variables)


def test_both_rows_have_one_generative_model_a_tiny_twin():
    pairs = [("e2", "d2"), ("e4", "d4"), ("e6", "d6")]
    _check_one_generative_model(_row_models(encoder=[6, 6, 5, 5, 4, 4], latent_dim=[3, 2, 2]), pairs, ["z2", "z4"])


@full_size_on_tensorflow
def test_both_rows_have_one_generative_model_at_full_size():
    models = _row_models()  # the planned sizes
    pairs = [("e2", "d2"), ("e4", "d4"), ("e6", "d6"), ("e8", "d8"), ("e10", "d10")]  # the top z reads e10
    _check_one_generative_model(models, pairs, ["z2", "z4", "z6", "z8"])
    generative = _generative(models[spec.LVAE_PAPER_LADDER])
    assert generative["z8_prior/kernel"] == (64, 16) and generative["z2_prior/kernel"] == (512, 128)
    assert generative["d10/dense/kernel"] == (4, 32) and generative["x_hat/kernel"] == (512, 784)


# ------------------------------------------------------------------ the reference's clipped step


def test_the_clipped_step_caps_the_global_norm_then_clips_each_element():
    adam = ClippedAdam(2e-4, global_norm=4.0, value=0.9, epsilon=1e-4)
    clipped = adam._clip_gradients([ops.convert_to_tensor([6.0, 0.0]), ops.convert_to_tensor([[8.0, 0.1]])])
    norm = np.sqrt(36 + 64 + 0.01)
    expected = [np.array([6.0, 0.0]) * 4 / (norm + 1e-7), np.array([[8.0, 0.1]]) * 4 / (norm + 1e-7)]
    for got, want in zip(clipped, expected):
        np.testing.assert_allclose(ops.convert_to_numpy(got), np.clip(want, -0.9, 0.9), rtol=1e-6)
    small = adam._clip_gradients([ops.convert_to_tensor([0.3, -0.4])])[0]  # norm 0.5: only the epsilon's scale
    np.testing.assert_allclose(ops.convert_to_numpy(small), [0.3, -0.4], rtol=1e-6)
    with pytest.raises(ValueError, match="`global_norm` must be a positive number"):
        ClippedAdam(global_norm=0)


def test_a_spec_without_clipping_keeps_keras_adam_and_old_specs_match():
    plain = spec.RunSpec(preset="wide", row="r", kind="ladderae", kwargs={"pairing": "none"}, backend="jax", seed=0,
                         epochs=1, batch_size=128, learning_rate=1e-3, train_size=10, test_size=10, probe_size=10,
                         iwae_k=2, iwae_images=2, data_dir=None)
    assert type(run.optimizer(plain, 1)) is keras.optimizers.Adam
    saved = {k: v for k, v in plain.to_json().items() if k not in ("clip_global_norm", "clip_value")}
    assert spec.RunSpec.from_json(saved) == plain  # runs saved before the clipping fields still match
    planned = _planned()[0]
    assert spec.RunSpec.from_json(json.loads(json.dumps(planned.to_json()))) == planned


# ------------------------------------------------------------------ the report


def _run(row, seed, iwae, elbo):
    return {"spec": {"row": row, "seed": seed}, "iwae_nll": iwae, "neg_elbo": elbo}


def test_the_paired_difference_is_the_ladder_minus_bottom_up_seed_by_seed():
    runs = [_run(spec.LVAE_PAPER_BOTTOM_UP, 0, 90.0, 95.0), _run(spec.LVAE_PAPER_LADDER, 0, 88.5, 94.0),
            _run(spec.LVAE_PAPER_BOTTOM_UP, 1, 91.0, 96.0), _run(spec.LVAE_PAPER_LADDER, 1, 90.5, 95.5),
            _run(spec.LVAE_PAPER_LADDER, 2, 80.0, 85.0)]  # seed 2 has no bottom-up run: not paired
    paired = report.paired_rows(runs, spec.LVAE_PAPER_LADDER, spec.LVAE_PAPER_BOTTOM_UP, ("iwae_nll", "neg_elbo"))
    assert paired["iwae_nll"]["per_seed"] == {0: -1.5, 1: -0.5}
    assert paired["iwae_nll"]["mean_std"] == pytest.approx((-1.0, np.std([-1.5, -0.5], ddof=1)))
    assert paired["neg_elbo"]["per_seed"] == {0: -1.0, 1: -0.5}


def test_the_training_epochs_note_points_to_a_speed_section_only_where_there_is_one():
    # the queue trains the LVAE rows with --speed-rounds 0: their table must not promise timings it lacks
    assert report._training_epochs_note({"speed": []}).endswith("no row of this table was timed with the cores "
                                                                 "free (`--speed-rounds 0`).")
    assert report._training_epochs_note({"speed": [{"row": "r"}]}).endswith("a speed section times the rows with "
                                                                             "the cores free.")


def test_the_papers_figures_are_quoted_strings_never_numbers():
    assert set(report.PAPER_LVAE_PROTOCOL) == set(ROWS)
    for quoted in report.PAPER_LVAE_PROTOCOL.values():
        assert quoted is None or (isinstance(quoted[0], str) and quoted[1])


# ------------------------------------------------------------------ --quick end to end


@quick_protocol_on_tensorflow
def test_quick_lvae_protocol_writes_the_table_beside_the_paper_with_the_paired_difference(tmp_path, data_root):
    argv = ["--quick", "--protocol", "lvae", "--out", str(tmp_path), "--data-dir", str(data_root)]
    assert mnist_vs_vae.main(argv) == 0
    result = json.loads((tmp_path / "results.json").read_text())
    assert [(r["spec"]["seed"], r["spec"]["row"]) for r in result["runs"]] == [(s, row) for s in (0, 1) for row in ROWS]
    assert all(r["spec"]["learning_rate"] == 2e-4 and r["spec"]["clip_value"] == 0.9 for r in result["runs"])
    for entry in result["summary"]:
        assert all(entry[f"kl_{z}"] is not None for z in ("z2", "z4", "z6", "z8", "z"))
    assert set(result["paired"]["iwae_nll"]["per_seed"]) == {"0", "1"}  # JSON keys
    assert set(result["floors"]) == set(ROWS) and [c["row"] for c in result["speed"]] == ROWS
    assert next(c for c in result["speed"] if c["row"] == spec.LVAE_PAPER_BOTTOM_UP)["ratio"] == 1.0
    table = (tmp_path / "results.md").read_text()
    assert "81.74 (quoted, unchecked)" in table and "not found (see notes)" in table
    assert f"{spec.LVAE_PAPER_LADDER} minus {spec.LVAE_PAPER_BOTTOM_UP}, paired by seed" in table
    assert "| IWAE k=4 | " in table and "| seed 0 | seed 1 |" in table and "z8 " in table
    assert "the KL weight from 0 to 1 over the first 200 epochs (200 steps" in table  # 1 step per quick epoch
    assert "trainable parameters" in (tmp_path / "log.txt").read_text()
