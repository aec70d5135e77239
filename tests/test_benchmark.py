"""The benchmark: its plans, its floor, its learning-rate stages, resuming a killed run, and --quick end to end."""

import dataclasses
import json
import sys

import keras
import numpy as np
import pytest
from conftest import REPO, only_on

sys.path.insert(0, str(REPO / "benchmarks"))
import mnist_vs_vae  # noqa: E402
from mnistbench import floor, plan, report, run, spec  # noqa: E402
from mnistbench.schedule import StagedLearningRate, stage_epochs  # noqa: E402

quick_only_on_tensorflow = only_on(
    "tensorflow",
    "--quick runs the main table's TensorFlow baseline rows in-process; the benchmark drives both backends "
    "itself, so one pass (the TensorFlow one) covers it",
)
jax_code_once = only_on("jax", "hand-written JAX, whatever Keras' backend: one pass (the JAX one) covers it")
# The runner's resume (work folders, epoch log, noise state) is Python whatever the backend; the long runs train on
# JAX (the queue's backend), and the library's own exact resume is tested on both backends (tests/test_resume.py).
on_the_queues_backend = only_on("jax", "the long runs train on JAX")


# ------------------------------------------------------------------ the learning-rate stages


@pytest.mark.parametrize("stages, epochs", [(1, 1), (4, 40), (5, 121), (6, 364), (8, 3280)])
def test_stage_count_chooses_the_budget(stages, epochs):
    assert stage_epochs(stages) == epochs


class OneWeight(keras.Model):
    """Loss = w, so plain SGD moves w by exactly -learning_rate at each step: the rate the compiled step used."""

    def __init__(self):
        super().__init__()
        self.w = self.add_weight(shape=(), initializer="zeros", name="w")
        self.built = True  # its one weight exists: BackupAndRestore needs a built model

    def call(self, x):
        return x

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return self.w * 1.0


class Record(keras.callbacks.Callback):
    def __init__(self, out):
        super().__init__()
        self.out = out

    def on_train_batch_end(self, batch, logs=None):
        self.out.append(float(keras.ops.convert_to_numpy(self.model.w)))


class Kill(keras.callbacks.Callback):
    """Stops a fit the hard way after epoch `after` (once the callbacks before it have saved)."""

    def __init__(self, after):
        super().__init__()
        self.after = after

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.after:
            raise KeyboardInterrupt


def _fit(schedule, x, epochs, callbacks):
    model = OneWeight()
    model.compile(optimizer=keras.optimizers.SGD(schedule), jit_compile=keras.backend.backend() == "jax")
    model.fit(x, batch_size=2, epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks)


def test_stages_give_the_right_rate_at_every_step_inside_the_compiled_step_and_after_a_resume(tmp_path):
    # 2 steps per epoch, 3 stages: stage 0 is step 0-1, stage 1 steps 2-7, stage 2 steps 8-25.
    schedule = StagedLearningRate(steps_per_epoch=2, stages=3)
    expected = [1e-3] * 2 + [1e-3 * 10 ** (-1 / 7)] * 6 + [1e-3 * 10 ** (-2 / 7)] * 18
    x = np.zeros((4, 1), "float32")
    weights = []
    backup = keras.callbacks.BackupAndRestore(str(tmp_path), delete_checkpoint=False)
    with pytest.raises(KeyboardInterrupt):  # killed in stage 1, after epoch 2 (step 5)
        _fit(schedule, x, stage_epochs(3), [backup, Record(weights), Kill(after=2)])
    assert len(weights) == 6
    backup = keras.callbacks.BackupAndRestore(str(tmp_path), delete_checkpoint=False)
    _fit(StagedLearningRate(steps_per_epoch=2, stages=3), x, stage_epochs(3), [backup, Record(weights)])
    used = -np.diff([0.0, *weights])
    np.testing.assert_allclose(used, expected, rtol=1e-4)
    assert [schedule.rate(i) for i in range(4)] == pytest.approx([expected[0], expected[2], expected[8], expected[8]])


def test_stages_serialise():
    schedule = StagedLearningRate(steps_per_epoch=3000, stages=8, initial=2e-3)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert again.get_config() == schedule.get_config()
    assert float(again(3000 * 40)) == pytest.approx(2e-3 * 10 ** (-4 / 7))


@pytest.mark.parametrize("argument, value", [("steps_per_epoch", 0), ("stages", 2.5), ("initial", -1.0),
                                             ("decay", 0)])
def test_stages_name_a_bad_argument(argument, value):
    arguments = {"steps_per_epoch": 10, "stages": 3, argument: value}
    with pytest.raises(ValueError, match=f"`{argument}` must be"):
        StagedLearningRate(**arguments)


# ------------------------------------------------------------------ resuming a killed run


def _tiny(kind, **overrides):
    fields = dict(preset="iwae", row="r", kind=kind, kwargs=None if kind == "baseline" else {"pairing": "none"},
                  backend=keras.backend.backend(), seed=0, epochs=stage_epochs(2), batch_size=20,
                  learning_rate=1e-3, train_size=60, test_size=40, probe_size=40, iwae_k=3, iwae_images=8,
                  data_dir=None, stages=2, adam_epsilon=1e-4, plots=False)
    return spec.RunSpec(**{**fields, **overrides})


@on_the_queues_backend
@pytest.mark.parametrize("kind, steps_per_execution", [("ladderae", 2), ("baseline", 1)])
def test_a_killed_run_resumes_to_the_result_of_an_uninterrupted_one(tmp_path, kind, steps_per_execution, data_root,
                                                                    monkeypatch):
    monkeypatch.setenv("LADDERAE_DATA", str(data_root))
    tiny = _tiny(kind, train_size=80, steps_per_execution=steps_per_execution)  # 4 steps per epoch
    straight = run.run_one(tiny, tmp_path / "straight")
    with pytest.raises(KeyboardInterrupt):
        run.run_one(tiny, tmp_path / "killed", callbacks=[Kill(after=1)])  # inside stage 1 (epochs 1-3)
    resumed = run.run_one(tiny, tmp_path / "killed")
    assert len(resumed["epoch_seconds"]) == tiny.epochs  # the epochs of both sittings
    np.testing.assert_allclose(resumed["history"]["loss"], straight["history"]["loss"], rtol=1e-5)
    for figure in ("neg_elbo", "iwae_nll", "kl"):
        assert resumed[figure] == pytest.approx(straight[figure], rel=1e-5)
    assert resumed["environment"]["backend"] == keras.backend.backend()
    assert set(resumed["environment"]["versions"]) >= {"keras", "numpy"}
    assert resumed["trained_at"] == {k: resumed["environment"][k] for k in ("commit", "uncommitted_changes")}


def test_a_run_resumes_only_at_the_commit_it_started_at_and_is_scored_at_any(tmp_path, monkeypatch):
    state = {"commit": "a" * 40, "uncommitted_changes": False}
    monkeypatch.setattr(run, "git_state", lambda: dict(state))
    assert run.trained_at(tmp_path, 0, 5) == state  # recorded when it starts
    state["commit"] = "b" * 40
    with pytest.raises(RuntimeError, match=f"started training at {'a' * 40} and has 2 epochs to go"):
        run.trained_at(tmp_path, 3, 5)
    assert run.trained_at(tmp_path, 5, 5)["commit"] == "a" * 40  # trained: scored from anywhere, named as trained


def test_a_saved_run_is_reused_only_for_the_same_spec(tmp_path):
    runner = run.Runner(tmp_path, in_process=True, log=lambda message: None)
    tiny = _tiny("ladderae")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "x.json").write_text(json.dumps({"spec": {**tiny.to_json(), "out": "elsewhere"}}))
    assert runner.saved(tiny, "x") is not None
    assert runner.saved(dataclasses.replace(tiny, stages=3), "x") is None


def test_the_committed_table_is_found_by_the_plan_that_made_it(data_root):
    """Rerunning the committed main table trains nothing: every planned spec equals its saved run's."""
    results = REPO / "benchmarks" / "results"
    args = mnist_vs_vae.parse(["--out", str(results), "--presets", "wide", "iwae", "conv"])
    plan.resolve(args, plan.DataSizes.load(data_root))
    runner = run.Runner(results, in_process=True, log=pytest.fail)
    sweep = [runner.saved(s, run_id) for s, run_id in plan.plan_sweep(args)]
    chosen, best_mode = plan.choose(sweep)
    planned = plan.plan_main(args, chosen, best_mode) + plan.plan_speed(args, chosen)
    assert len(planned) == 75  # 54 table runs (36 wide, 9 iwae, 9 conv) and 21 speed runs
    assert all(runner.saved(s, run_id) is not None for s, run_id in planned)


def test_specs_saved_before_the_protocol_fields_existed_still_match():
    old = {k: v for k, v in _tiny("ladderae", stages=None, adam_epsilon=None).to_json().items()
           if k not in ("stages", "adam_epsilon")}
    assert spec.RunSpec.from_json(old) == _tiny("ladderae", stages=None, adam_epsilon=None)


def test_a_benchmark_killed_by_its_pid_ends_its_run_subprocess_too(tmp_path):
    """Else the orphan trains on, and the benchmark's next start resumes the same run beside it."""
    import os
    import signal
    import subprocess
    import time

    script = tmp_path / "job.py"  # stands for mnist_vs_vae.py --_run: writes its pid, then trains "forever"
    script.write_text("import os, pathlib, sys, time\n"
                      "pathlib.Path(sys.argv[2].strip('\"')).write_text(str(os.getpid()))\ntime.sleep(120)\n")
    pid_file = tmp_path / "child.pid"
    parent = subprocess.Popen([sys.executable, "-c", (
        f"import sys; sys.path.insert(0, {str(REPO / 'benchmarks')!r}); from mnistbench.run import run_job; "
        f"sys.exit(run_job({str(script)!r}, {str(pid_file)!r}, 'jax', {str(tmp_path / 'log')!r}))")])
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline and parent.poll() is None, (tmp_path / "log").read_text()
        time.sleep(0.1)
    child = int(pid_file.read_text())
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=30) == 128 + signal.SIGTERM
    time.sleep(0.5)  # run_job's Popen reaped the killed child before the parent exited
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


# ------------------------------------------------------------------ planning


def _args(*argv):
    args = mnist_vs_vae.parse(list(argv))
    plan.resolve(args, plan.DataSizes(train=600, test=100, image_shape=(28, 28)))
    return args


@pytest.mark.parametrize("weight", [0.0, 2.0])
def test_weight_means_that_weight_for_every_mode(weight):
    planned = plan.plan_sweep(_args("--weight", str(weight)))
    assert [s.kwargs["consistency_weight"] for s, _ in planned] == [weight] * len(spec.MODES)


def test_sizes_come_from_the_data():
    s, _ = plan.plan_main(_args(), {m: {"weight": 1.0} for m in spec.MODES}, "none")[0]
    assert (s.train_size, s.test_size, s.probe_size, s.iwae_images) == (600, 100, 600, 100)


def test_later_presets_get_the_baseline_no_pair_and_best_pair_rows():
    planned = plan.plan_main(_args("--presets", "wide", "iwae", "conv", "--seeds", "2"),
                             {m: {"weight": 1.0} for m in spec.MODES}, "decoder")
    rows = {preset: {s.row for s, _ in planned if s.preset == preset} for preset in ("wide", "iwae", "conv")}
    assert rows["wide"] == {row.name for row in spec.table_rows("decoder")}
    assert rows["iwae"] == rows["conv"] == {spec.BASELINE, spec.NO_PAIRS, "mirror, decoder"}
    assert {s.backend for s, _ in planned if s.preset == "conv"} == {"tensorflow", "jax"}  # baseline TF, rest main
    assert all(s.seed in (0, 1) for s, _ in planned)


def test_protocol_plan_follows_the_paper_and_skips_rows_ladderae_cannot_build_yet():
    skipped = []
    planned = plan.plan_protocol(_args("--protocol", "iwae", "--stages", "5", "--seeds", "3"),
                                 {"none": {"weight": 0.3}}, "none", skipped.append)
    specs = [s for s, _ in planned]
    assert {(s.preset, s.epochs, s.stages, s.batch_size, s.adam_epsilon, s.iwae_k, s.iwae_images) for s in specs} == {
        ("iwae", 121, 5, 20, 1e-4, 5000, 100)}
    rows = {s.row for s in specs}
    assert {spec.BASELINE, spec.NO_PAIRS, "mirror, none"} <= rows
    assert [s.seed for s in specs] == sorted(s.seed for s in specs)  # seed-major: paired results come early
    assert next(s for s in specs if s.row == "mirror, none").kwargs["consistency_weight"] == 0.3
    iwae_rows = [r.name for r in spec.protocol_rows("none") if r.kwargs and "objective" in r.kwargs]
    assert len(skipped) + len(rows) == len(spec.protocol_rows("none"))
    for name in iwae_rows:
        assert (name in rows) != any(name in message for message in skipped)


def test_protocol_rows_pick_rows_by_name_and_name_an_unknown_one():
    args = _args("--protocol", "iwae", "--seeds", "1", "--rows", spec.BASELINE, spec.NO_PAIRS)
    assert {s.row for s, _ in plan.plan_protocol(args, {"none": {"weight": 0.3}}, "none", print)} == {
        spec.BASELINE, spec.NO_PAIRS}
    args.rows = ["mirror, nowhere"]
    with pytest.raises(ValueError, match="`--rows`: no protocol row named"):
        plan.plan_protocol(args, {"none": {"weight": 0.3}}, "none", print)


def test_protocol_speed_rounds_time_every_row_at_the_protocols_step_apart_from_its_runs():
    args = _args("--protocol", "iwae", "--stages", "5", "--speed-rounds", "2", "--speed-epochs", "3")
    planned = plan.plan_protocol_speed(args, {"none": {"weight": 0.3}}, "none")
    trained = {s.row: s for s, _ in plan.plan_protocol(args, {"none": {"weight": 0.3}}, "none", print)}
    assert [(s.seed, s.row) for s, _ in planned] == [(r, row) for r in (0, 1) for row in trained]  # paired rounds
    for s, run_id in planned:
        assert s.speed_only and s.epochs == 4 and run_id.startswith(f"iwae-speed-{s.seed}-")
        t = trained[s.row]
        same = dataclasses.replace(s, speed_only=False, seed=t.seed, epochs=t.epochs, stages=t.stages, plots=t.plots)
        assert same == t  # the step the runs train with: batch, Adam's epsilon, steps per call, k
    assert len({run_id for _, run_id in planned}) == len(planned)


def test_the_k_sweep_times_the_iwae_objective_at_each_k_at_the_protocols_step():
    args = _args("--protocol", "iwae", "--speed-rounds", "2")
    planned = plan.plan_k_sweep(args)
    assert [(s.seed, s.kwargs["k"]) for s, _ in planned] == [(r, k) for r in (0, 1) for k in (1, 2, 5, 10, 20, 50)]
    assert all(s.speed_only and s.kwargs["objective"] == "iwae" and s.kwargs["pairing"] == "none" for s, _ in planned)
    k50 = next(s for s, _ in plan.plan_protocol_speed(args, {"none": {"weight": 0.3}}, "none")
               if s.row == f"IWAE k={spec.IWAE_TRAINING_K}, no pairs")
    assert next(s for s, _ in planned if s.kwargs["k"] == 50) == k50  # the training row's step, exactly
    assert len({run_id for _, run_id in planned}) == len(planned)
    assert plan.plan_k_sweep(_args("--protocol", "iwae", "--k-sweep")) == []  # the flag alone: no sweep


@pytest.mark.parametrize("flag", ["--train-only", "--speed-only", "--report-only"])
def test_the_main_table_refuses_the_flags_of_the_protocols(flag, capsys):
    with pytest.raises(SystemExit):
        mnist_vs_vae.parse([flag])
    assert f"{flag} is for --protocol iwae, hierarchical or lvae" in capsys.readouterr().err


# ------------------------------------------------------------------ the floor


def test_the_floor_counts_every_layer_of_the_graph():
    import ladderae

    wide = ladderae.LadderAE(input_shape=(784,), encoder=[512, 256], latent_dim=32).graph
    macs = 784 * 512 + 512 * 256 + 2 * 256 * 32 + 32 * 256 + 256 * 512 + 512 * 784  # two heads at the bottleneck
    assert floor.training_flops_per_example(wide) == 6 * macs - 2 * 784 * 512  # no input gradient for e1 on x
    conv = ladderae.LadderAE(input_shape=(28, 28, 1), conv=[16], encoder=[8], latent_dim=4, pairing="none").graph
    conv_macs = (14 * 14 * 9 * 1 * 16) + (14 * 14 * 16 * 8) + 2 * 8 * 4 + 4 * 8 + 8 * 14 * 14 * 16 + 14 * 14 * 16 * 9
    assert floor.training_flops_per_example(conv) == 6 * conv_macs - 2 * 14 * 14 * 9 * 1 * 16
    # The iwae objective's k samples: the layers below z once, z's heads and the decoder k times.
    above = 2 * 256 * 32 + 32 * 256 + 256 * 512 + 512 * 784
    assert floor.training_flops_per_example(wide, samples=50) == floor.training_flops_per_example(wide) + 49 * 6 * above


def test_the_floor_times_the_iwae_objectives_decoder_on_k_times_the_rows():
    import ladderae

    g = ladderae.LadderAE(input_shape=(784,), encoder=[200, 200], latent_dim=50, pairing="none").graph
    once = floor.timed_products(g, batch=20)
    assert once[0] == ((20, 784), (784, 200))  # e1 forward, then its weight gradient only (its input is the data)
    assert once[1] == ((784, 20), (20, 200)) and once[2] == ((20, 200), (200, 200))
    k50 = floor.timed_products(g, batch=20, samples=50)
    assert len(k50) == len(once) == 1 + 1 + 3 * 5  # e1, e2, z's heads, d2, d1, x_hat
    assert k50[:5] == once[:5]  # the layers below z: once per example
    assert all(1000 in a for a, _ in k50[5:])  # z and above on 20 * 50 rows
    assert k50[5] == ((1000, 200), (200, 100))  # the mean and log-variance heads together


@jax_code_once
def test_the_hand_written_reference_step_learns_and_is_timed_against_the_floor(tmp_path):
    import jax

    import reference_step

    for activation in ("relu", "tanh"):
        init, step = reference_step.vae_step([784, 32], latent=4, activation=activation)
        state, key = init(jax.random.key(0)), jax.random.key(1)
        x = jax.numpy.asarray(np.random.default_rng(0).random((16, 784), dtype=np.float32) ** 4)  # mostly dark pixels
        losses = []
        for _ in range(60):
            state, key, value = step(state, x, key)
            losses.append(float(value))
        assert 784 * 0.5 < losses[0] and np.mean(losses[-10:]) < 0.8 * losses[0]  # nats per example, going down
    for preset in ("wide", "iwae"):
        out = tmp_path / f"{preset}.json"
        argv = ["--preset", preset, "--steps", "2", "--trials", "1", "--rounds", "2", "--out", str(out)]
        assert reference_step.main(argv) == 0
        result = json.loads(out.read_text())
        assert len(result["rounds"]) == 2 and all(r["floor_ms"] > 0 for r in result["rounds"])
        assert result["median_x_floor"] == pytest.approx(np.median([r["step_ms"] / r["floor_ms"]
                                                                    for r in result["rounds"]]))
        net = "512-256-32 relu" if preset == "wide" else "200-200-50 tanh"
        assert result["model"].startswith(f"{preset} VAE 784-{net}")


# ------------------------------------------------------------------ --quick end to end


@quick_only_on_tensorflow
def test_quick_benchmark_runs_every_row_and_fills_every_column(tmp_path, data_root):
    assert mnist_vs_vae.main(["--quick", "--out", str(tmp_path), "--data-dir", str(data_root)]) == 0
    result = json.loads((tmp_path / "results.json").read_text())
    expected_rows = {row.name for row in spec.table_rows(result["best_mode"])}
    assert {e["row"] for e in result["summary"]} == expected_rows  # --quick runs `wide`, every row
    for entry in result["summary"]:
        assert entry["seeds"] == 2
        for figure in report.FIGURES + ["delta_neg_elbo", "delta_iwae_nll"]:
            assert entry[figure] is not None, (entry["row"], figure)
    table = (tmp_path / "results.md").read_text()
    header = next(line for line in table.splitlines() if line.startswith("| preset"))
    assert header.count("|") == 17
    assert all(row in table for row in expected_rows)
    assert "ratio to baseline" in table and "x floor" in table
    assert any((tmp_path / "plots").iterdir())
    assert not any((tmp_path / "work").iterdir())  # finished runs leave no work folder behind
    # Resuming: a second call finds every run on disk and trains nothing.
    runs = sorted((tmp_path / "runs").glob("*.json"))
    stamps = [p.stat().st_mtime for p in runs]
    assert mnist_vs_vae.main(["--quick", "--out", str(tmp_path), "--data-dir", str(data_root)]) == 0
    assert [p.stat().st_mtime for p in sorted((tmp_path / "runs").glob("*.json"))] == stamps


@quick_only_on_tensorflow
def test_quick_iwae_protocol_reports_every_runnable_row_beside_the_paper(tmp_path, data_root):
    argv = ["--quick", "--protocol", "iwae", "--out", str(tmp_path), "--data-dir", str(data_root), "--rows",
            spec.BASELINE, spec.NO_PAIRS]
    # --speed-only first (the cores free now, the table later): speed runs alone, which the full run then reuses.
    assert mnist_vs_vae.main(argv + ["--speed-only"]) == 0
    speed_runs = ("iwae-speed-*.json", "iwae-ksweep-*.json")  # the rows' rounds, the k sweep's (k = 1, 3)
    timed = {p.name: p.stat().st_mtime for pattern in speed_runs for p in (tmp_path / "runs").glob(pattern)}
    assert len(timed) == 2 + 2 and not (tmp_path / "results.md").exists()
    assert not [p for p in (tmp_path / "runs").glob("*.json") if p.name not in timed and "floor" not in p.name]
    assert mnist_vs_vae.main(argv) == 0
    assert {p.name: p.stat().st_mtime for pattern in speed_runs for p in (tmp_path / "runs").glob(pattern)} == timed
    result = json.loads((tmp_path / "results.json").read_text())
    assert {r["spec"]["epochs"] for r in result["runs"]} == {stage_epochs(2)}
    table = (tmp_path / "results.md").read_text()
    assert "| plain VAE (Keras, baseline) |" in table and "| ladderae, no pairs |" in table and "86.76" in table
    assert result["floor"]["floor_seconds"] > 0
    assert {row: f["floor_seconds"] for row, f in result["floors"].items()} == {
        spec.BASELINE: result["floor"]["floor_seconds"], spec.NO_PAIRS: result["floor"]["floor_seconds"]}
    # The speed rounds after the runs: each row against its own floor, the step time beside it.
    assert [c["row"] for c in result["speed"]] == [spec.BASELINE, spec.NO_PAIRS]
    assert all(r["spec"]["speed_only"] and r["spec"]["batch_size"] == 20 for r in result["speed_runs"])
    for c in result["speed"]:
        assert c["x_floor"] == pytest.approx(c["median_epoch_seconds"] / result["floors"][c["row"]]["floor_seconds"])
        assert c["ms_per_step"] == pytest.approx(1000 * c["median_epoch_seconds"] / -(-result["settings"][
            "train_size"] // 20))
    assert "Training speed with the cores free" in table and "| ms/step |" in table
    # The step time against k: the IWAE objective at each k of the sweep, each against its own floor.
    assert [(c["k"], c["row"]) for c in result["k_sweep"]] == [(1, "IWAE k=1, no pairs"), (3, "IWAE k=3, no pairs")]
    assert all(r["spec"]["kwargs"]["objective"] == "iwae" and r["spec"]["batch_size"] == 20
               for r in result["k_sweep_runs"])
    one, three = result["k_sweep"]
    assert one["ratio"] == 1.0 and (tmp_path / "runs" / "floor-iwae-b20-k3.json").exists()  # k=3's own floor
    for c in result["k_sweep"]:
        assert c["x_floor"] == pytest.approx(c["median_epoch_seconds"] / c["floor_seconds"])
    assert "step time against k" in table and "| 3 |" in table
    # --report-only trains nothing: a run not saved (here: removed) is left out of the table, and a row with one of
    # its paired speed rounds missing is left out of the speed section, which names it; the other rows stay.
    missing = tmp_path / "runs" / f"{spec.slug('iwae', spec.NO_PAIRS, '2stages', 1)}.json"
    missing.unlink()
    next((tmp_path / "runs").glob("iwae-speed-0-ladderae*.json")).unlink()
    assert mnist_vs_vae.main(argv + ["--report-only"]) == 0
    again = json.loads((tmp_path / "results.json").read_text())
    assert len(again["runs"]) == len(result["runs"]) - 1 and not missing.exists()
    assert {e["row"]: e["seeds"] for e in again["summary"]} == {spec.BASELINE: 2, spec.NO_PAIRS: 1}
    assert [c["row"] for c in again["speed"]] == [spec.BASELINE]
    assert f"the s/epoch above is its training runs'): `{spec.NO_PAIRS}`." in (tmp_path / "results.md").read_text()
    assert again["k_sweep"] == result["k_sweep"]  # its own rounds, all there


def test_one_seed_is_tabulated_without_a_spread_and_three_with_one():
    one, three = report.mean_std([86.82]), report.mean_std([88.6, 88.8, 88.9])
    assert report.fmt(one) == "86.82" and report.signed(report.mean_std([-0.05])) == "-0.05"
    assert report.fmt(three) == f"88.77 ± {three[1]:.2f}" and three[1] > 0


def test_the_machine_line_names_the_machines_the_runs_were_scored_on_not_the_tabulating_one():
    def env(cpu):
        return {"cpu": cpu, "cores": 2, "versions": {"keras": "3.15.1"}}

    table = {"environment": env("tabulating CPU"), "command": "python benchmarks/mnist_vs_vae.py --report-only",
             "runs": [{"environment": env("CPU A")}, {"environment": env("CPU B")}, {"spec": {}}]}
    line = report._machine_line(table)
    assert "CPU A, 2 cores; CPU B, 2 cores" in line and "tabulating" not in line
    assert "tabulating CPU" in report._machine_line({**table, "runs": [{"spec": {}}]})
