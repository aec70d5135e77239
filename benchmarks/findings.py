"""Rewrite the generated figures of benchmarks/README.md and README.md from the committed results JSON.

Each region between ``<!-- generated: NAME -->`` and ``<!-- end -->`` is replaced by what
`mnistbench.findings` computes from `benchmarks/results/`; with --check nothing is written, and the exit status is 1
when a region differs from what the JSON gives now (each one named).
"""

import argparse
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from mnistbench import findings  # noqa: E402

FILES = [HERE / "README.md", HERE.parent / "README.md"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a region is out of date")
    args = parser.parse_args(argv)
    stale = {path: findings.stale(path) for path in FILES}
    for path, names in stale.items():
        if not names:
            continue
        if args.check:
            print(f"{path.relative_to(HERE.parent)}: out of date: {', '.join(names)}")
        else:
            path.write_text(findings.render(path.read_text()))
            print(f"{path.relative_to(HERE.parent)}: rewrote {', '.join(names)}")
    return 1 if args.check and any(stale.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
