"""Start a benchmark's loopback stand-in (the same script with --serve PORT) and wait
until it answers."""
from __future__ import annotations

import socket
import subprocess
import sys
import time


def start(script: str, *args: str) -> tuple[int, subprocess.Popen]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, script, "--serve", str(port), *args])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return port, proc
