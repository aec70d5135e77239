"""The README's benchmark tables are the ones the benchmark wrote (benchmarks/results/**/results.md), verbatim,
and its benchmark command lines parse."""

import pytest
from conftest import REPO

RESULTS = sorted((REPO / "benchmarks" / "results").glob("**/results.md"))


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
def test_every_table_of_the_results_is_in_the_readme_unchanged(results):
    readme = tables((REPO / "README.md").read_text())
    expected = tables(results.read_text())
    assert expected, f"{results} has no table"
    for table in expected:
        assert table in readme, f"README.md lacks this table of {results.relative_to(REPO)} (or has it edited):\n{table}"


def test_every_benchmark_command_in_the_readme_parses():
    import re
    import shlex
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    import mnist_vs_vae

    readme = (REPO / "README.md").read_text()
    commands = re.findall(r"python (?:\.\./)?(?:benchmarks/)?mnist_vs_vae\.py([^`]*)`", readme)
    assert len(commands) >= 3
    for argv in commands:
        args = mnist_vs_vae.parse(shlex.split(argv))
        assert args.protocol in ("table", "iwae")
