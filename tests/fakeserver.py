"""A scripted OpenAI-compatible chat server on 127.0.0.1 for tests and benchmarks.

It answers POST /v1/chat/completions (and /chat/completions) with a reply chosen by a
`responder(messages, body) -> str | (status, headers, body)`, counts every request, and can
inject faults. Replies are written in one send with TCP_NODELAY and a large listen backlog,
so the server is never the bottleneck.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


def echo_upper(messages: list[dict], body: dict) -> str:
    """Default: a deterministic 'translation' (the last 60 chars of the prompt, upper-cased)."""
    return messages[-1]["content"][-60:].upper()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().server_bind()


class FakeServer:
    def __init__(self, responder: Callable = echo_upper, delay: float = 0.0, port: int = 0):
        self.responder = responder
        self.delay = delay
        self.requests: list[dict] = []
        self.headers_seen: list[dict] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def setup(self):
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _send(self, status: int, payload: dict | str, headers: dict | None = None):
                data = payload if isinstance(payload, str) else json.dumps(payload)
                raw = data.encode("utf-8")
                head = [f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}",
                        "Content-Type: application/json", f"Content-Length: {len(raw)}"]
                head += [f"{k}: {v}" for k, v in (headers or {}).items()]
                self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + raw)

            def do_GET(self):
                self._send(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server.lock:
                    server.requests.append(body)
                    server.headers_seen.append(dict(self.headers))
                if server.delay:
                    time.sleep(server.delay)
                out = server.responder(body.get("messages", []), body)
                if isinstance(out, tuple):
                    status, headers, payload = out
                    if status == -1:  # hang past the client's timeout, then drop
                        time.sleep(float(payload))
                        return
                    self._send(status, payload, headers)
                    return
                self._send(200, {
                    "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", "fake"),
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": out}}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})

        self.httpd = _Server(("127.0.0.1", port), Handler)
        self.port = self.httpd.server_address[1]
        # shutdown() waits for serve_forever's next poll: the default 0.5 s poll cost every
        # test that starts a server half a second at teardown
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def count(self) -> int:
        with self.lock:
            return len(self.requests)
