"""`python -m app`: the `roadmap` command, as the installed console script runs it
(app/fastpath.py answers `score` from the published ranking, else the full CLI)."""
from app.fastpath import main

main()
