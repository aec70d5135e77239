"""The benchmark's hierarchical table: its plan, the floor of stochastic pairs, the scores per layer, end to end."""

import json
import math
import sys

import keras
import numpy as np
import pytest
from conftest import REPO, bits, only_on, quick_protocol_on_tensorflow

import ladderae
from ladderae import evaluate, evaluate_hierarchy

sys.path.insert(0, str(REPO / "benchmarks"))
import mnist_vs_vae  # noqa: E402
from mnistbench import floor, plan, run, spec  # noqa: E402

ROWS = [spec.BASELINE, spec.NO_PAIRS, spec.MATCHED, spec.MATCHED_AS_LVAE, spec.LVAE]
sizes_on_tensorflow = only_on(
    "tensorflow",
    "parameter counts and matmul shapes do not depend on the backend; building the full LVAE takes 14 s on JAX",
)


def _args(*argv):
    args = mnist_vs_vae.parse(["--protocol", "hierarchical", *argv])
    plan.resolve(args, plan.DataSizes(train=600, test=100, image_shape=(28, 28)))
    return args


def _row_model(name):
    """The LadderAE of hierarchical row `name` on flat MNIST, as the benchmark builds it (warm-up aside)."""
    row = next(r for r in spec.hierarchy_rows() if r.name == name)
    kwargs = {k: v for k, v in row.kwargs.items() if k != "warmup"}
    return ladderae.LadderAE(784, **{**spec.PRESETS["wide"], **kwargs})


@pytest.fixture(scope="module")
def lvae():
    return _row_model(spec.LVAE)


def _tiny_lvae(**kwargs):
    """6 -> 5 -> 4 with latents z1 (3 units, at e1/d1) and the top z (2): every part of a stochastic pair."""
    return ladderae.LadderAE(6, encoder=[5, 4], latent_dim=[3, 2], pair_kind="stochastic", seed=0, **kwargs)


# ------------------------------------------------------------------ the plan


def test_the_plan_has_every_row_for_every_seed_at_one_budget():
    planned = plan.plan_hierarchy(_args("--seeds", "3", "--epochs", "7"))
    specs = [s for s, _ in planned]
    assert [(s.seed, s.row) for s in specs] == [(seed, row) for seed in range(3) for row in ROWS]  # seed-major
    assert {(s.preset, s.epochs, s.batch_size, s.learning_rate, s.backend, s.iwae_k, s.iwae_images, s.test_size)
            for s in specs} == {("wide", 7, 128, 1e-3, "jax", 5000, 100, 100)}  # k=5000 on every test digit
    assert len({run_id for _, run_id in planned}) == len(planned)
    lvae = next(s for s in specs if s.row == spec.LVAE).kwargs
    assert lvae == {"encoder": [512, 256, 128, 64, 32], "latent_dim": [64, 32, 16, 8, 4], "pair_kind": "stochastic",
                    "batch_norm": True, "warmup": True}
    # One latent at the LVAE's size with the LVAE's batch norm and warm-up: the LVAE differs from it by its hierarchy.
    controlled = next(s for s in specs if s.row == spec.MATCHED_AS_LVAE).kwargs
    assert controlled == {"pairing": "none", "encoder": spec.MATCHED_ENCODER, "batch_norm": True, "warmup": True}
    assert spec.warmup_epochs(controlled["warmup"]) == spec.warmup_epochs(lvae["warmup"]) == spec.WARMUP_EPOCHS
    assert not any(s.run_eagerly for s in specs)  # only --quick runs eagerly


def test_the_readme_command_plans_the_hierarchical_table_at_the_issues_scoring_budget():
    import re
    import shlex

    notes = (REPO / "benchmarks" / "README.md").read_text()
    (command,) = re.findall(r"`ladderae bench (--protocol hierarchical[^`]*)`", notes)
    args = mnist_vs_vae.parse(shlex.split(command))
    assert (args.protocol, args.seeds, args.batch_size, args.iwae_k, args.iwae_images) == (
        "hierarchical", 3, 128, 5000, None)  # None: every test digit
    assert args.out.name == "hierarchical"


def test_rows_can_be_picked_by_name_and_an_unknown_one_is_named():
    assert {s.row for s, _ in plan.plan_hierarchy(_args("--seeds", "1", "--rows", spec.LVAE))} == {spec.LVAE}
    with pytest.raises(ValueError, match="`--rows`: no protocol row named"):
        plan.plan_hierarchy(_args("--rows", "a ladder of nothing"))


@sizes_on_tensorflow
def test_the_one_latent_row_has_about_the_lvae_parameter_count(lvae):
    lvae, matched = run.count_parameters(lvae), run.count_parameters(_row_model(spec.MATCHED))
    assert lvae == 1_375_160 and matched == 1_377_608 and abs(matched - lvae) / lvae < 0.005
    controlled = run.count_parameters(_row_model(spec.MATCHED_AS_LVAE))  # batch norm's scales and offsets added
    assert controlled == 1_379_456 and abs(controlled - lvae) / lvae < 0.005


def test_the_committed_hierarchical_runs_are_all_found_by_the_plan(data_root):
    """Every row's runs keep their run ids and specs, the row added later (trained at another commit) included."""
    results = REPO / "benchmarks" / "results" / "hierarchical"
    args = mnist_vs_vae.parse(["--protocol", "hierarchical", "--seeds", "3", "--epochs", "10", "--out", str(results)])
    plan.resolve(args, plan.DataSizes.load(data_root))
    runner = run.Runner(results, in_process=True, log=pytest.fail, report_only=True)
    found = {(s.row, s.seed): runner.saved(s, run_id) is not None for s, run_id in plan.plan_hierarchy(args)}
    assert found == {(row, seed): True for row in ROWS for seed in range(3)}


@sizes_on_tensorflow
def test_the_committed_hierarchical_table_tabulates_again_with_the_speed_rounds_it_has(tmp_path, data_root,
                                                                                      monkeypatch):
    """--report-only on the committed runs: the same results table; the speed section keeps the rows timed in every
    round and names the row added after the rounds, which the speed plan lists but never ran."""
    import shutil

    monkeypatch.setenv("LADDERAE_DATA", str(data_root))
    committed = REPO / "benchmarks" / "results" / "hierarchical"
    shutil.copytree(committed / "runs", tmp_path / "runs")
    argv = ["--protocol", "hierarchical", "--seeds", "3", "--epochs", "10", "--report-only", "--out", str(tmp_path)]
    assert mnist_vs_vae.main(argv) == 0
    result = json.loads((tmp_path / "results.json").read_text())
    assert {e["row"] for e in result["summary"]} == set(result["floors"]) == set(ROWS)
    assert [c["row"] for c in result["speed"]] == [row for row in ROWS if row != spec.MATCHED_AS_LVAE]
    table = (tmp_path / "results.md").read_text()
    first_table = (committed / "results.md").read_text().split("\n\n| row |")[1].split("\n\n")[0]
    assert first_table in table
    assert f"Not in these rounds (added to the table after they were timed; the s/epoch above is its training " \
           f"runs'): `{spec.MATCHED_AS_LVAE}`." in table


# ------------------------------------------------------------------ the floor


def test_the_floor_counts_the_stochastic_pairs_layers_by_hand():
    g = _tiny_lvae().graph
    nodes = 6 * 5 + 5 * 4 + 2 * 4 * 2 + 2 * 4 + 4 * 5 + 5 * 6  # e1, e2, z's two heads, d2, d1, x_hat
    pair = 5 * 6 + 5 * 6 + 3 * 5  # z1's posterior [mean | log-var] on e1, its prior on d1, its projection back to d1
    assert floor.training_flops_per_example(g) == 6 * (nodes + pair) - 2 * 6 * 5  # no input gradient for e1 on x


@sizes_on_tensorflow
def test_the_lvae_floor_counts_every_kernel_of_the_model_once(lvae):
    kernels = sum(math.prod(v.shape) for v in lvae.trainable_variables if len(v.shape) == 2)
    assert floor.training_flops_per_example(lvae.graph) == 6 * kernels - 2 * 784 * 512  # e1 reads the data
    # 12 layers after x (e1-e5, z, d5-d1, x_hat), then 4 pairs with 3 Dense layers each (posterior, prior, up)
    assert len(floor.matmuls(lvae.graph)) == 12 + 4 * 3


# ------------------------------------------------------------------ scoring a hierarchy


def test_report_scores_a_hierarchy_over_every_layer():
    model = _tiny_lvae()
    x, labels = bits((40, 6), seed=1), np.arange(40) % 2
    numbers = evaluate.report(model, x, labels, x, labels, k=3, iwae_images=10, verbose=0)
    assert numbers == pytest.approx({**numbers, **evaluate_hierarchy.elbo(model, x)})
    assert numbers["kl"] == pytest.approx(numbers["kl_z1"] + numbers["kl_z"])
    active = evaluate_hierarchy.active_units(model, x)
    assert {numbers["active_units_z1"], numbers["active_units_z"]} <= {0, 1, 2, 3}
    assert (numbers["active_units_z1"], numbers["active_units_z"]) == (active["z1"], active["z"])
    assert numbers["active_units"] == active["z1"] + active["z"] and numbers["latent_dim"] == 5
    bound = evaluate_hierarchy.iwae_nll(model, x[:10], k=3, verbose=0)
    assert numbers["iwae_nll"] == pytest.approx(float(np.mean(bound)))
    assert (numbers["iwae_k"], numbers["iwae_images"]) == (3, 10) and 0 <= numbers["linear_probe_accuracy"] <= 1


def test_report_of_one_latent_has_no_layer_figures():
    numbers = evaluate.report(ladderae.LadderAE(6, encoder=[4], latent_dim=2, seed=0), bits((20, 6)), k=2,
                              verbose=0)
    assert not [key for key in numbers if key.startswith(("kl_", "active_units_"))]
    assert numbers["latent_dim"] == 2


# ------------------------------------------------------------------ --quick end to end


@quick_protocol_on_tensorflow
def test_quick_hierarchical_table_writes_each_layer_beside_the_paper(tmp_path, data_root):
    argv = ["--quick", "--protocol", "hierarchical", "--out", str(tmp_path), "--data-dir", str(data_root),
            "--rows", spec.BASELINE, spec.LVAE]
    assert mnist_vs_vae.main(argv) == 0
    result = json.loads((tmp_path / "results.json").read_text())
    assert {r["spec"]["backend"] for r in result["runs"]} == {keras.backend.backend()}
    lvae = next(e for e in result["summary"] if e["row"] == spec.LVAE)
    layers = ["z1", "z2", "z3", "z4", "z"]
    assert all(lvae[f"kl_{name}"] is not None and lvae[f"active_units_{name}"] is not None for name in layers)
    assert lvae["seeds"] == 2 and lvae["delta_iwae_nll"] is not None and lvae["speed_vs_baseline"] is not None
    assert all(f["floor_seconds"] > 0 for f in result["floors"].values()) and set(result["floors"]) == {
        spec.BASELINE, spec.LVAE}
    table = (tmp_path / "results.md").read_text()
    assert "IWAE k=4, 16 digits" in table and "81.74" in table and "86.76" in table and "x floor" in table
    assert "z1 " in table and "budget (epochs x seeds)" in table and "| 1 x 2 |" in table
    assert "1,375,160 trainable parameters" in (tmp_path / "log.txt").read_text()
    # The speed rounds: every row once per round after the runs, each against its own floor.
    assert [c["row"] for c in result["speed"]] == [spec.BASELINE, spec.LVAE]
    assert all(r["spec"]["speed_only"] and r["spec"]["epochs"] == 2 for r in result["speed_runs"])
    for c in result["speed"]:
        assert c["floor_seconds"] == result["floors"][c["row"]]["floor_seconds"]
        assert c["x_floor"] == pytest.approx(c["median_epoch_seconds"] / c["floor_seconds"])
    assert next(c for c in result["speed"] if c["row"] == spec.BASELINE)["ratio"] == 1.0
    assert "Training speed with the cores free" in table
    drawn = {p.name for p in (tmp_path / "plots").iterdir()}
    prefix = spec.slug("hierarchical", spec.LVAE, 0)
    assert {f"{prefix}_{picture}.png" for picture in ("history", "reconstructions", "samples", "layers",
                                                            "prior_layers")} <= drawn
