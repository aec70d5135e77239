"""benchmarks/queue.sh's bookkeeping, sourced into bash: how many epochs a run's work folder holds, that `park`
keeps, of two copies of a run, the one with more epochs, and `unpark` never overwrites a worktree's own run."""

import os
import subprocess

import pytest
from conftest import REPO


def queue(script, tmp_path):
    """Run `script` in bash after sourcing the queue with its worktrees and park folder under `tmp_path`."""
    env = {**os.environ, "PARK": str(tmp_path / "parked"), "LVAE_WT": str(tmp_path / "wt1"),
           "LVAE_WT2": str(tmp_path / "wt2"), "LADDER_WT": str(tmp_path / "none"),
           "LADDER_RERUN_WT": str(tmp_path / "none"), "MAIN_TABLE_WT": str(tmp_path / "none")}
    done = subprocess.run(["bash", "-c", f"source benchmarks/queue.sh && {script}"], cwd=REPO, env=env,
                          capture_output=True, text=True, check=True)
    return done.stdout


def work(root, table, run, epochs):
    """A run's work folder holding `epochs` finished epochs (None: no history at all)."""
    folder = root / "benchmarks" / "results" / table / "work" / run
    folder.mkdir(parents=True)
    if epochs is not None:
        (folder / "history.csv").write_text("".join(["epoch,loss\n"] + [f"{e},1.0\n" for e in range(1, epochs + 1)]))
    return folder


@pytest.mark.parametrize("epochs, expected", [(None, "0"), (0, "0"), (3, "3")])
def test_epochs_counts_the_history_after_its_header(tmp_path, epochs, expected):
    folder = work(tmp_path, "lvae_paper", "run", epochs)
    assert queue(f"epochs {folder}", tmp_path).strip() == expected
    (folder / "history.csv").write_text("")  # created, no epoch ended yet
    assert queue(f"epochs {folder}", tmp_path).strip() == "0"


def test_park_keeps_the_copy_with_more_epochs_wherever_it_is(tmp_path):
    work(tmp_path / "wt1", "lvae_paper", "lvae-0", 7)
    work(tmp_path / "wt2", "lvae_paper", "lvae-0", 4)  # a stale copy `run` unparked into the other lane
    work(tmp_path / "wt2", "lvae_paper", "lvae-1", 2)
    queue("park", tmp_path)
    parked = tmp_path / "parked" / "lvae_paper" / "work"
    assert queue(f"epochs {parked / 'lvae-0'}; epochs {parked / 'lvae-1'}", tmp_path).split() == ["7", "2"]
    work(tmp_path / "wt1", "lvae_paper", "lvae-1", 1)  # older than the parked copy: parking again keeps that
    queue("park", tmp_path)
    assert queue(f"epochs {parked / 'lvae-1'}", tmp_path).strip() == "2"


def test_unpark_fills_a_worktree_only_where_it_has_no_run_of_its_own(tmp_path):
    parked = tmp_path / "parked" / "lvae_paper" / "work"
    for run, epochs in (("lvae-0", 9), ("lvae-1", 9)):
        (parked / run).mkdir(parents=True)
        (parked / run / "history.csv").write_text("epoch\n" + "".join(f"{e}\n" for e in range(epochs)))
    own = work(tmp_path / "wt1", "lvae_paper", "lvae-0", 3)
    queue(f"unpark {tmp_path / 'wt1'} lvae_paper", tmp_path)
    table = tmp_path / "wt1" / "benchmarks" / "results" / "lvae_paper" / "work"
    assert queue(f"epochs {own}; epochs {table / 'lvae-1'}", tmp_path).split() == ["3", "9"]


def test_status_lists_the_unfinished_runs_and_succeeds_after_a_finished_one(tmp_path):
    work(tmp_path / "wt1", "lvae_paper", "lvae-0", 5)
    finished = work(tmp_path / "wt2", "lvae_paper", "lvae-1", 2000)
    (finished.parent.parent / "runs").mkdir()
    (finished.parent.parent / "runs" / "lvae-1.json").write_text("{}")
    assert queue("status", tmp_path).splitlines() == [f"{tmp_path / 'wt1'}: lvae-0: 5 epochs done"]


def test_park_passes_over_a_work_folder_whose_runs_all_finished(tmp_path):
    (tmp_path / "none" / "benchmarks" / "results" / "ladder" / "work").mkdir(parents=True)
    work(tmp_path / "wt1", "lvae_paper", "lvae-0", 7)
    assert queue("park", tmp_path).strip().endswith("parked in " + str(tmp_path / "parked"))
