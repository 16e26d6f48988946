"""A minimal OpenAI-compatible chat server for throughput benchmarks, run in its own process.

It answers every POST with the same chat.completion after a fixed delay, scheduled on an
asyncio loop (no thread per request, no GIL shared with the client being measured), with
HTTP/1.1 keep-alive, TCP_NODELAY and one write per reply. It counts requests and the CPU
it spent, so a benchmark can show the server was not the bottleneck.

    python bench/fastserver.py --delay 0.1   # prints "PORT <n>" on stdout, then serves
    GET /stats -> {"requests": n, "cpu_s": x}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import time

BODY = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": "bench",
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "A fixed answer from the benchmark server."}}],
    "usage": {"prompt_tokens": 10, "completion_tokens": 8, "total_tokens": 18}}).encode()


def _reply(body: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body)


REPLY = _reply(BODY)


class Counter:
    requests = 0


class Http(asyncio.Protocol):
    def __init__(self, delay: float):
        self.delay = delay
        self.buf = b""
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        loop = asyncio.get_running_loop()
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if len(self.buf) < end + 4 + length:
                return
            self.buf = self.buf[end + 4 + length:]
            if head.startswith("GET /stats"):
                stats = json.dumps({"requests": Counter.requests, "cpu_s": time.process_time()}).encode()
                self.transport.write(_reply(stats))
                continue
            Counter.requests += 1
            if self.delay:
                loop.call_later(self.delay, self._send)
            else:
                self._send()

    def _send(self) -> None:
        if not self.transport.is_closing():
            self.transport.write(REPLY)


async def serve(delay: float, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Http(delay), "127.0.0.1", port, backlog=1024, reuse_address=True)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--delay", type=float, default=0.1)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    try:
        asyncio.run(serve(args.delay, args.port))
    except KeyboardInterrupt:  # Ctrl-C is how this server is meant to stop
        print("fastserver: stopped", file=sys.stderr)


class ServerProcess:
    """Start the server in a separate process; `base_url` and `stats()` while it runs."""

    def __init__(self, delay: float = 0.1):
        self.delay = delay
        self.proc = None
        self.port = None

    def __enter__(self):
        import subprocess

        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--delay", str(self.delay)],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"benchmark server did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stats(self) -> dict:
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=10) as resp:
            return json.loads(resp.read())

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except Exception:  # noqa: BLE001
            self.proc.kill()
        if self.proc.stdout:
            self.proc.stdout.close()


if __name__ == "__main__":
    main()
