"""``python -m naclgrid.agent ...``: what the local pool spawns, so it needs no
``gridhost`` script on PATH."""

import sys

from naclgrid.agent.cli import main

sys.exit(main(sys.argv[1:]))
