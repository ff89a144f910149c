"""Helpers shared by the reliability tests: a fake OpenAI-compatible server with failure
modes, settings pointed at temporary folders, index copies laid out as the indexer lays
them out (a `default` link into `.builds/`)."""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
LLM_TIMEOUT_S = 1.0
# C0 and C1 control characters, DEL; newline and tab are layout, not control, in an answer
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class FakeLLM:
    """POST /v1/chat/completions on 127.0.0.1, recording (path, headers, body) of each request.

    mode "ok": a chat completion whose content is reply(messages); "hang": sleeps delay_s first;
    "garbage": 200 with a body that is not JSON; "no-choices": 200 with JSON lacking `choices`;
    "error": HTTP 500. With `api_key`, a request without `Authorization: Bearer <api_key>` gets 401.
    A request with `"stream": true` gets the reply as server-sent events, a word a chunk,
    `token_delay_s` apart, as OpenAI streams.
    """

    def __init__(self, mode: str = "ok", reply=lambda messages: "An answer.", delay_s: float = 0.0, api_key: str | None = None,
                 token_delay_s: float = 0.0):
        self.requests: list[tuple[str, dict, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = json.loads(raw or b"{}")
                fake.requests.append((self.path, dict(self.headers.items()), body))
                if api_key is not None and self.headers.get("Authorization") != f"Bearer {api_key}":
                    return self._send(401, b'{"error": {"message": "bad key", "type": "invalid_request_error"}}')
                if mode == "hang":
                    time.sleep(delay_s)
                if mode == "garbage":
                    return self._send(200, b"<html><body>502 Bad Gateway \x00\xff not json", "text/html")
                if mode == "no-choices":
                    return self._send(200, json.dumps({"id": "x", "object": "chat.completion", "model": "m"}).encode())
                if mode == "error":
                    return self._send(500, b'{"error": {"message": "internal error"}}')
                if body.get("stream"):
                    return self._stream(body.get("model", "fake"), reply(body.get("messages", [])))
                payload = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "fake"),
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": reply(body.get("messages", []))}}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                }
                self._send(200, json.dumps(payload).encode())

            def _stream(self, model: str, text: str):
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Cache-Control", "no-cache")
                    self.end_headers()
                    pieces = re.findall(r"\S+\s*", text)
                    for i, piece in enumerate(pieces):
                        last = i == len(pieces) - 1
                        chunk = {
                            "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                            "choices": [{"index": 0, "delta": {"role": "assistant", "content": piece},
                                         "finish_reason": "stop" if last else None}],
                        }
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                        self.wfile.flush()
                        time.sleep(token_delay_s)
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except OSError:
                    pass  # the client gave up

            def _send(self, status: int, payload: bytes, content_type: str = "application/json"):
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (timeout)

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakeLLM:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def llm_settings(settings, api_base: str, timeout_s: float = LLM_TIMEOUT_S):
    """`settings` answering with the LLM at api_base (the rest of the model config, key included, kept)."""
    graphrag = settings.graphrag
    model = graphrag.completion_models["default_completion_model"].model_copy(update={"api_base": api_base})
    graphrag = graphrag.model_copy(update={"completion_models": {**graphrag.completion_models, "default_completion_model": model}})
    return replace(settings, graphrag=graphrag, qa=replace(settings.qa, answerer="llm", llm_timeout_s=timeout_s))


def settings_file(folder: Path, corpus: Path, index: Path, **qa) -> Path:
    """A copy of the project's settings.yaml with corpus, index and cache under `folder`."""
    values = yaml.safe_load((ROOT / "settings.yaml").read_text(encoding="utf-8"))
    values["qa"].update({"corpus": str(corpus), "index": str(index), **qa})
    values["cache"]["storage"]["base_dir"] = str(folder / "cache")
    path = folder / "settings.yaml"
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    return path


def files_under(folder: Path) -> list[Path]:
    """Every regular file under folder (links followed once at the top)."""
    folder = Path(folder).resolve()
    return sorted(Path(r, n) for r, _, names in os.walk(folder) for n in names)


def no_traceback(text: str) -> bool:
    return "Traceback (most recent call last)" not in text
