"""Start ``app.py`` in a subprocess on a free port (for tests and benchmarks)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pianoplay.paths import REPO_ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class AppProcess:
    url: str
    process: subprocess.Popen
    startup_seconds: float  # from starting the command to the first served page
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_app(
    *args: str,
    port: int | None = None,
    log: str | Path | None = None,
    timeout: float = 90.0,
    python: str = sys.executable,
) -> AppProcess:
    """Run ``python app.py --port PORT *args`` and wait until it serves its page.

    The environment turns Gradio's analytics and Hugging Face downloads off.
    Raises ``RuntimeError`` with the end of the log if the app exits or does
    not answer within ``timeout`` seconds.
    """
    port = port or free_port()
    url = f"http://127.0.0.1:{port}/"
    log = Path(log) if log else Path(os.environ.get("TMPDIR", "/tmp")) / f"pianoplay-app-{port}.log"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [python, str(REPO_ROOT / "app.py"), "--port", str(port), *args],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return AppProcess(url, process, time.perf_counter() - start, log)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if process.poll() is not None or time.perf_counter() - start > timeout:
            if process.poll() is None:
                process.kill()
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"app.py did not serve {url} (exit code {process.poll()}):\n{tail}")
        time.sleep(0.05)
