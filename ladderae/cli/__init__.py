"""The `ladderae` command (`ladderae.cli:main`)."""

from ladderae.cli.parser import build_parser, main

__all__ = ["main", "build_parser"]
