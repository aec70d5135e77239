"""`python -m ladderae.cli`: the `ladderae` command."""

import sys

from ladderae.cli.parser import main

sys.exit(main())
