"""Every committed benchmark JSON names commits that this repository's history holds, so the code behind each figure
can be read: a run trained from now on records the commit it trained at (``trained_at``) and the one it was scored
and tabulated at (``environment.commit``), both reachable from HEAD."""

import json
import subprocess

import pytest
from conftest import REPO

RESULTS = REPO / "benchmarks" / "results"
# Scoring commits of issue 14's runs that only ever lived in a local worktree (tags bench-score-<training commit>:
# the training commit with 7e1fec5's compiled IWAE scoring applied). Issue 27 asks to re-create them on main or to
# re-score the runs; until then each is named here, so that no other unreachable commit can slip in.
LOST_SCORING_COMMITS = {"2af8cea": "e2a2434 + 7e1fec5", "a6513a2": "11ba8e0 + 7e1fec5"}


def named_commits(value):
    """Every commit a JSON document names: ``commit`` fields at any depth."""
    if isinstance(value, dict):
        own = [value["commit"]] if isinstance(value.get("commit"), str) else []
        return own + [c for v in value.values() for c in named_commits(v)]
    if isinstance(value, list):
        return [c for v in value for c in named_commits(v)]
    return []


def reachable(commit):
    return subprocess.run(["git", "-C", str(REPO), "merge-base", "--is-ancestor", commit, "HEAD"],
                          capture_output=True).returncode == 0


DOCUMENTS = sorted(RESULTS.rglob("*.json"))


@pytest.fixture(scope="module", autouse=True)
def git_history():
    if subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True).returncode:
        pytest.fail("the provenance tests read the repository's git history: run them in a git checkout")


def test_there_are_results_naming_commits():
    assert sum(bool(named_commits(json.loads(p.read_text()))) for p in DOCUMENTS) > 100


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(RESULTS)))
def test_every_commit_a_result_names_is_in_the_history(path):
    lost = [c for c in named_commits(json.loads(path.read_text()))
            if not reachable(c) and c[:7] not in LOST_SCORING_COMMITS]
    assert lost == [], f"{path.relative_to(REPO)} names commits git cannot find from HEAD"


def test_a_run_that_records_its_training_names_both_commits_on_main():
    """Runs trained since `trained_at` existed (tests/test_benchmark.py checks that every new run records it)."""
    runs = [json.loads(p.read_text()) for p in DOCUMENTS]
    for run in (r for r in runs if isinstance(r, dict) and "trained_at" in r):
        assert reachable(run["trained_at"]["commit"]) and reachable(run["environment"]["commit"])


def test_a_commit_git_cannot_find_is_caught():
    assert not reachable("0" * 40) and reachable(subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD~1"], capture_output=True, text=True).stdout.strip())
