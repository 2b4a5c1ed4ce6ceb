"""A fake OpenAI-compatible chat server on port 0: it records each request and answers `reply` (or `status`)."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

from tests.web import reply_json, start_http


class FakeChatServer:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 200
        self.reply = "A GAN pits a generator against a discriminator that judges whether a sample is real or generated."
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                payload = {"choices": [{"message": {"role": "assistant", "content": outer.reply}}]}
                reply_json(self, payload if outer.status == 200 else {"error": "boom"}, outer.status)

            def log_message(self, *args):
                pass

        self.server, base = start_http(Handler)
        self.url = base + "/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
