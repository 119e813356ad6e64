"""`python -m app.cli`: the `roadmap` command, `score --format json|csv` answered from the
published ranking as the `roadmap` script answers it (app/fastpath.py), else the full CLI."""
from app.fastpath import main

main(prog_name=None)
