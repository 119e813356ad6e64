"""`roadmap worker`: runs queued and scheduled syncs (`[service] sync_every`), one at a
time across every worker and replica (app/jobs.py). SIGTERM or Ctrl+C: finish the sync
in hand, then stop; a second one: put the job back in the queue and stop now."""
from __future__ import annotations

import signal

import click

from app.cli.main import config_option, main, user_errors, workspace


@main.command()
@config_option
@click.option("--once", is_flag=True, help="Stop when nothing is queued or running (no schedule wait).")
@click.option("--lease", type=click.FloatRange(min=0.5), default=60.0, show_default=True,
              help="Seconds a job stays this worker's without a heartbeat; then another worker retries it.")
@click.option("--poll", type=click.FloatRange(min=0.05), default=0.25, show_default=True,
              help="Seconds between looks at the queue when idle (a look is one small read).")
@user_errors
def worker(config, once, lease, poll) -> None:
    """Run queued and scheduled syncs, one at a time across every worker and replica."""
    from app.worker import Worker
    from app.logs import configure
    ws = workspace(config)
    configure(ws.settings)
    ws.graph  # refuse a goal graph that cannot be scored before taking any job
    w = Worker(ws, lease=lease, poll=poll)

    def stop(signum, _frame):
        if w.stop.is_set():
            raise KeyboardInterrupt
        w.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        w.run(once=once)
    except KeyboardInterrupt:
        raise SystemExit(130) from None
