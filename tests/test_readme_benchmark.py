"""benchmarks/README.md holds the tables the benchmarks wrote (benchmarks/results/**/results.md), verbatim; every
figure in its prose (and in README.md's results table) is what `mnistbench.findings` computes from the results JSON
now; and its benchmark command lines parse."""

import copy
import re
import shlex
import sys

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

import mnist_ladder  # noqa: E402
import mnist_vs_vae  # noqa: E402
from mnistbench import findings  # noqa: E402

NOTES = REPO / "benchmarks" / "README.md"
RESULTS = sorted((REPO / "benchmarks" / "results").glob("**/results.md"))
GENERATED = [NOTES, REPO / "README.md"]


def tables(text):
    """Each markdown table (a run of lines starting with '|') as one string."""
    found, current = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            current.append(line.rstrip())
        elif current:
            found.append("\n".join(current))
            current = []
    return found


def test_there_are_results_to_check():
    assert REPO / "benchmarks" / "results" / "results.md" in RESULTS


@pytest.mark.parametrize("results", RESULTS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_table_of_the_results_is_in_the_benchmark_notes_unchanged(results):
    notes = tables(NOTES.read_text())
    expected = tables(results.read_text())
    assert expected, f"{results} has no table"
    for table in expected:
        assert table in notes, (f"benchmarks/README.md lacks this table of {results.relative_to(REPO)} (or has it "
                                f"edited):\n{table}")


@pytest.mark.parametrize("path", GENERATED, ids=lambda p: str(p.relative_to(REPO)))
def test_the_generated_figures_are_what_the_results_json_gives(path):
    assert not findings.stale(path), (f"{path.relative_to(REPO)}: these regions differ from the results JSON: "
                                      f"{findings.stale(path)}; run `python benchmarks/findings.py`")


def test_every_finding_is_in_one_region_and_every_region_has_a_finding():
    names = [match.group(2) for path in GENERATED for match in findings.REGION.finditer(path.read_text())]
    assert sorted(names) == sorted(findings.FINDINGS)


def test_the_benchmark_notes_prose_has_no_figure_typed_by_hand():
    """Outside generated regions, tables and code, no mean ± sd and no figure in nats, %, ms or x (a ratio)."""
    text = findings.REGION.sub("", NOTES.read_text())
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    prose = "\n".join(line for line in text.splitlines() if not line.startswith("|"))
    typed = re.findall(r"\d ?± ?\d|\d(?:\.\d+)? ?(?:nats|%|ms\b)|\d\.\d+x\b", prose)
    assert not typed, f"figures typed by hand in benchmarks/README.md: {typed}"


def test_a_figure_follows_its_run():
    """Moving one seed's IWAE bound by a nat moves that seed's paired difference in the prose by a nat."""
    results = findings.Results()
    folder = "iwae_protocol_6stages/results.json"
    changed = copy.deepcopy(results.file(folder))
    run = next(r for r in changed["runs"] if r["spec"]["row"] == findings.MIRROR and r["spec"]["seed"] == 0)
    before = run["iwae_nll"] - next(r for r in changed["runs"] if r["spec"]["row"] == findings.NO_PAIRS
                                    and r["spec"]["seed"] == 0)["iwae_nll"]
    run["iwae_nll"] += 1.0

    class Moved(findings.Results):
        def file(self, path):
            return changed if path == folder else results.file(path)

    row = findings.budget_table(Moved()).splitlines()[-3]
    assert row.startswith("| 364 |") and f"(per seed {before + 1:+.2f}," in row
    assert f"(per seed {before:+.2f}," in findings.budget_table(results).splitlines()[-3]


def test_every_benchmark_command_in_the_notes_parses():
    notes = NOTES.read_text()
    commands = re.findall(r"python (?:\.\./)?(?:benchmarks/)?mnist_vs_vae\.py([^`\n]*)`", notes)
    assert len(commands) >= 4
    for argv in commands:
        assert mnist_vs_vae.parse(shlex.split(argv)).protocol in ("table", "iwae", "hierarchical", "lvae")
    ladder_commands = re.findall(r"^python benchmarks/mnist_ladder\.py([^#\n]*)", notes, re.M)
    assert len(ladder_commands) >= 2
    for argv in ladder_commands:
        assert mnist_ladder.parse(shlex.split(argv)).epochs in (30, 150)
