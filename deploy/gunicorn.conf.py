"""gunicorn settings for a kpi-roadmap web replica (README, "Running it for a company").

    PROMETHEUS_MULTIPROC_DIR=/run/roadmap/metrics gunicorn -c deploy/gunicorn.conf.py 'app:create_app()'

Flags on the command line (-w, -b) override what is set here.
"""
import multiprocessing
import os
import shutil

bind = os.environ.get("ROADMAP_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, min(4, multiprocessing.cpu_count()))))
worker_class = "gthread"          # a thread per request: reads wait on the database, not the CPU
threads = 4
timeout = 30                      # a request is killed after this; syncs never run in a request
graceful_timeout = 20
keepalive = 5
max_requests = 20000              # recycle workers now and then (bounded caches stay bounded)
max_requests_jitter = 2000
accesslog = "-"


def on_starting(server):
    """Start the metrics of this server afresh (prometheus-client's multiprocess mode)."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path, exist_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)
