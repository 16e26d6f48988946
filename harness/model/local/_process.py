"""Supervision of the embedded model's process (local_server.py): start it on a socket this
process already holds (no port race), wait until it answers, forward requests, and turn its
death into a per-item error.

A request in flight when the process dies fails with `local model process died: signal 11
(SIGSEGV)` and is not retried (a crash that an input provokes would provoke it again); the
next request starts a fresh process, at most MAX_RESTARTS times a run. Every other model of
the run goes on, and the run writes all its result files.
"""

from __future__ import annotations

import atexit
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

MAX_RESTARTS = 2
START_TIMEOUT = 180.0  # loading + the sha256 check; generous for a loaded 2-core machine


class LocalProcessDied(RuntimeError):
    """The model's process is gone; retrying the same item would only repeat the crash."""

    retryable = False


class LocalModelUnavailable(RuntimeError):
    retryable = False


def describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"signal {-code} ({signal.Signals(-code).name})"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


class LocalProcess:
    def __init__(self, name: str, max_restarts: int = MAX_RESTARTS):
        self.name = name
        self.max_restarts = max_restarts
        self.proc: subprocess.Popen | None = None
        self.base_url = ""
        self.info: dict = {}
        self.deaths: list[str] = []
        self.lock = threading.Lock()
        self._log = None
        atexit.register(self.stop)

    # -- lifecycle --------------------------------------------------------------------------
    def ensure(self) -> str:
        """The base URL of a live process, starting one if needed."""
        with self.lock:
            if self.proc is not None and self.proc.poll() is None:
                return self.base_url
            if self.proc is not None:
                self._record_death()
            if len(self.deaths) > self.max_restarts:
                raise LocalProcessDied(f"local model process died {len(self.deaths)} times "
                                       f"(last: {self.deaths[-1]}); not restarted again in this run")
            self._start()
            return self.base_url

    def _start(self) -> None:
        import httpx

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        port = sock.getsockname()[1]
        self._log = tempfile.TemporaryFile()
        cmd = [sys.executable, "-m", "harness.model.local._server", "--model", self.name,
               "--fd", str(sock.fileno()), "--watch-stdin"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log,
                                     pass_fds=[sock.fileno()])
        sock.close()  # the child holds its own copy
        self.base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                cause = self._stderr_tail() or describe_exit(self.proc.returncode)
                self._record_death()
                raise LocalModelUnavailable(f"local/{self.name} did not start: {cause}")
            try:
                r = httpx.get(self.base_url + "/harness/info", timeout=2.0)
                if r.status_code == 200:
                    self.info = r.json()
                    return
            except httpx.TransportError:
                time.sleep(0.2)  # not listening yet (still loading): poll again until the deadline
                continue
            time.sleep(0.2)
        self.stop()
        raise LocalModelUnavailable(f"local/{self.name} did not answer within {START_TIMEOUT:.0f} s")

    def _stderr_tail(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        lines = [ln for ln in self._log.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("error: ")]
        return (errors or lines or [""])[-1].removeprefix("error: ")[:300]

    def _record_death(self) -> None:
        if self.proc is not None:
            self.deaths.append(describe_exit(self.proc.poll()))
            self.proc = None

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            proc.stdin.close()  # the child exits on EOF
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(timeout=5)

    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    # -- requests ---------------------------------------------------------------------------
    def post(self, path: str, body: dict, timeout: float) -> dict:
        import httpx

        base = self.ensure()
        proc = self.proc
        try:
            r = httpx.post(base + path, json=body, timeout=timeout)
        except httpx.TransportError as exc:
            died = self._wait_dead(proc)
            if died is not None:
                raise LocalProcessDied(f"local model process died: {died}") from None
            raise ConnectionError(f"local/{self.name}: {type(exc).__name__}: {exc}") from None
        if r.status_code >= 400:
            raise LocalServerError(r.status_code, f"local/{self.name}: HTTP {r.status_code}: {r.text[:300]}")
        return r.json()

    def _wait_dead(self, proc: subprocess.Popen | None) -> str | None:
        """The exit of a process that dropped a connection (it may take a moment to be reaped)."""
        if proc is None:
            return None
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            return None
        with self.lock:
            if self.proc is proc:  # else ensure() has already recorded it
                self._record_death()
        return describe_exit(proc.returncode)


class LocalServerError(RuntimeError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status_code = status
