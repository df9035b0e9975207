"""``python -m sim`` is the ``signalsim`` command."""
from sim.cli import main

main()
