"""HTTP: the remote backend protocol (POST /v1/{method}, GET /v1/health)
and the OpenAI API that serves rollouts from the published weights
(/v1/completions, /v1/chat/completions, /v1/models, /tokenize), on one
ThreadingHTTPServer. A thin shell over engine.Engine and generate.Batcher.
"""
from __future__ import annotations

import hmac
import json
import math
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional

from .engine import Engine, EngineError
from .generate import Batcher, Generation, Job, Sampling

PROTOCOL_METHODS = ("forward_backward", "sft_forward_backward", "optim_step", "publish", "save", "load")
MAX_BODY = 256 << 20
MAX_N = 64


class BadRequest(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class App:
    """Routes requests to the engine and the batcher."""

    def __init__(self, engine: Engine, token: Optional[str], max_batch_rows: int = 256) -> None:
        self.engine = engine
        self.token = token
        self.batcher = Batcher(engine.family, engine.generator, max_batch_rows)

    def authorized(self, header: Optional[str]) -> bool:
        if not self.token:
            return True
        return header is not None and hmac.compare_digest(header.encode(), ("Bearer " + self.token).encode())

    # --- OpenAI -------------------------------------------------------------

    def _sampling(self, req: dict, default_max: int) -> tuple[Sampling, int]:
        fam = self.engine.family
        model = req.get("model")
        if model not in (None, "", fam.name):
            raise BadRequest("model", f"the model {model!r} does not exist; this server serves {fam.name!r}")
        if req.get("stream"):
            raise BadRequest("stream", "stream=true is not supported; send stream=false")
        n = req.get("n")
        n = 1 if n is None else n
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_N:
            raise BadRequest("n", f"n = {n!r}: want 1..{MAX_N}")
        mt = req.get("max_tokens")
        if mt is None:
            mt = req.get("max_completion_tokens")
        mt = default_max if mt is None else mt
        if not isinstance(mt, int) or isinstance(mt, bool) or not 1 <= mt <= fam.context:
            raise BadRequest("max_tokens", f"max_tokens = {mt!r}: want 1..{fam.context}")
        temp = req.get("temperature")
        temp = 1.0 if temp is None else temp
        top_p = req.get("top_p")
        top_p = 1.0 if top_p is None or top_p == 0 else top_p
        if not isinstance(temp, (int, float)) or temp < 0 or not math.isfinite(temp):
            raise BadRequest("temperature", f"temperature = {temp!r}: want a number >= 0")
        if not isinstance(top_p, (int, float)) or not 0 < top_p <= 1:
            raise BadRequest("top_p", f"top_p = {top_p!r}: want (0, 1]")
        stop = req.get("stop") or []
        if isinstance(stop, str):
            stop = [stop]
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise BadRequest("stop", "stop must be a string or a list of strings")
        seed = req.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise BadRequest("seed", "seed must be an integer")
        return Sampling(float(temp), float(top_p), mt, tuple(stop), seed), n

    def _check_prompt(self, ids: list[int], field: str) -> None:
        fam = self.engine.family
        if not ids:
            raise BadRequest(field, "the prompt is empty")
        if len(ids) >= fam.context:
            raise BadRequest(field, f"the prompt has {len(ids)} tokens, leaving no room in the context of {fam.context}")

    def _token_text(self, tok: int, as_ids: bool) -> str:
        return f"token_id:{tok}" if as_ids else self.engine.family.token_string(tok)

    def completions(self, req: dict) -> dict:
        fam = self.engine.family
        sampling, n = self._sampling(req, 16)
        raw = req.get("prompt")
        if isinstance(raw, str):
            prompts = [fam.encode_prompt(raw)]
        elif isinstance(raw, list) and raw and all(isinstance(p, str) for p in raw):
            prompts = [fam.encode_prompt(p) for p in raw]
        elif isinstance(raw, list) and raw and all(isinstance(p, int) for p in raw):
            prompts = [list(raw)]
        elif isinstance(raw, list) and raw and all(isinstance(p, list) for p in raw):
            prompts = [list(p) for p in raw]
        else:
            raise BadRequest("prompt", "must be a string, a list of strings, a list of token ids or a list of lists of token ids")
        for i, p in enumerate(prompts):
            self._check_prompt(p, "prompt")
        module = self.engine.served  # bound now: a later publish does not change this request's weights
        gens = self.batcher.submit(module, [Job(p, n, sampling) for p in prompts])
        as_ids = bool(req.get("return_tokens_as_token_ids"))
        want_lp = req.get("logprobs") is not None
        choices = []
        usage = {"prompt_tokens": 0, "completion_tokens": 0}
        for i, gs in enumerate(gens):
            usage["prompt_tokens"] += len(prompts[i])
            for k, g in enumerate(gs):
                ch: dict[str, Any] = {"index": i * n + k, "text": g.text, "finish_reason": g.finish, "stop_reason": g.stop_string,
                                      "token_ids": g.tokens, "prompt_token_ids": prompts[i], "logprobs": None}
                if want_lp:
                    toks = [self._token_text(t, as_ids) for t in g.tokens]
                    ch["logprobs"] = {"tokens": toks, "token_logprobs": g.logprobs,
                                      "top_logprobs": [{t: lp} for t, lp in zip(toks, g.logprobs)],
                                      "text_offset": list(range(len(toks)))}
                usage["completion_tokens"] += len(g.tokens)
                choices.append(ch)
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        return {"id": "cmpl-" + uuid.uuid4().hex, "object": "text_completion", "created": int(time.time()),
                "model": fam.name, "choices": choices, "usage": usage}

    def _messages(self, req: dict) -> list[dict]:
        msgs = req.get("messages")
        if not isinstance(msgs, list) or not msgs:
            raise BadRequest("messages", "must hold at least one message")
        out = []
        for i, m in enumerate(msgs):
            if not isinstance(m, dict) or m.get("role") not in ("system", "developer", "user", "assistant", "tool"):
                raise BadRequest("messages", f"messages[{i}].role must be system, developer, user, assistant or tool")
            c = m.get("content")
            if isinstance(c, list):
                c = "".join(p.get("text", "") for p in c if isinstance(p, dict) and p.get("type") == "text")
            if not isinstance(c, str):
                raise BadRequest("messages", f"messages[{i}].content must be a string or text parts")
            out.append({"role": m["role"], "content": c})
        return out

    def chat(self, req: dict) -> dict:
        fam = self.engine.family
        sampling, n = self._sampling(req, fam.context)
        prompt = fam.chat_prompt(self._messages(req))
        self._check_prompt(prompt, "messages")
        if sampling.max_tokens + len(prompt) > fam.context:
            sampling = Sampling(sampling.temperature, sampling.top_p, fam.context - len(prompt), sampling.stop, sampling.seed)
        module = self.engine.served
        (gs,) = self.batcher.submit(module, [Job(prompt, n, sampling)])
        as_ids = bool(req.get("return_tokens_as_token_ids"))
        choices = []
        completion_tokens = 0
        for k, g in enumerate(gs):
            ch: dict[str, Any] = {"index": k, "message": {"role": "assistant", "content": g.text}, "finish_reason": g.finish,
                                  "stop_reason": g.stop_string, "token_ids": g.tokens, "logprobs": None}
            if req.get("logprobs"):
                ch["logprobs"] = {"content": [{"token": self._token_text(t, as_ids), "logprob": lp, "bytes": None, "top_logprobs": []}
                                              for t, lp in zip(g.tokens, g.logprobs)]}
            completion_tokens += len(g.tokens)
            choices.append(ch)
        return {"id": "chatcmpl-" + uuid.uuid4().hex, "object": "chat.completion", "created": int(time.time()), "model": fam.name,
                "choices": choices, "prompt_token_ids": prompt,
                "usage": {"prompt_tokens": len(prompt), "completion_tokens": completion_tokens, "total_tokens": len(prompt) + completion_tokens}}

    def models(self) -> dict:
        fam = self.engine.family
        return {"object": "list", "data": [{"id": fam.name, "object": "model", "created": int(time.time()), "owned_by": "tabler1",
                                            "max_model_len": fam.context}]}

    def tokenize(self, req: dict) -> dict:
        fam = self.engine.family
        if req.get("messages") is not None:
            ids = fam.chat_prompt(self._messages(req))
        elif isinstance(req.get("prompt"), str):
            ids = fam.encode_prompt(req["prompt"])
        else:
            raise BadRequest("prompt", "prompt or messages is required")
        return {"tokens": ids, "count": len(ids), "max_model_len": fam.context}


class Handler(BaseHTTPRequestHandler):
    server_version = "tabler1-torch"
    protocol_version = "HTTP/1.1"
    app: App

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        pass

    def _send(self, status: int, body: dict) -> None:
        b = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def _error(self, status: int, message: str, field: Optional[str] = None) -> None:
        body: dict[str, Any] = {"error": message}
        if field is not None:
            body["param"] = field
        self._send(status, body)

    def _body(self) -> Optional[dict]:
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            self._error(413, f"request body of {n} bytes exceeds {MAX_BODY}")
            return None
        raw = self.rfile.read(n) if n else b"{}"
        try:
            body = json.loads(raw or b"{}")
        except ValueError as e:
            self._error(400, f"the request body is not JSON: {e}")
            return None
        if not isinstance(body, dict):
            self._error(400, "the request body must be a JSON object")
            return None
        return body

    def _route(self, method: str) -> None:
        app = self.app
        path = self.path.split("?", 1)[0].rstrip("/")
        if not app.authorized(self.headers.get("Authorization")):
            # Drain the body so the connection stays usable.
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._error(401, "missing or wrong bearer token (the backend reads it from TABLER1_BACKEND_TOKEN)")
            return
        try:
            if method == "GET" and path == "/v1/health":
                self._send(200, app.engine.health())
            elif method == "GET" and path == "/health":
                self._send(200, {"status": "ok"})
            elif method == "GET" and path == "/v1/models":
                self._send(200, app.models())
            elif method == "POST" and path.startswith("/v1/") and path[4:] in PROTOCOL_METHODS:
                body = self._body()
                if body is not None:
                    self._send(200, getattr(app.engine, path[4:])(body))
            elif method == "POST" and path in ("/v1/completions", "/v1/chat/completions", "/tokenize"):
                body = self._body()
                if body is not None:
                    fn = {"/v1/completions": app.completions, "/v1/chat/completions": app.chat, "/tokenize": app.tokenize}[path]
                    self._send(200, fn(body))
            else:
                self._error(404 if method in ("GET", "POST") else 405, f"no route {method} {path}")
        except BadRequest as e:
            self._error(400, str(e), e.field)
        except EngineError as e:
            self._error(e.status, str(e))
        except Exception as e:  # noqa: BLE001 - any failure is a 500 that names it
            self._error(500, f"{type(e).__name__}: {e}")

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")


def make_server(app: App, host: str, port: int) -> ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"app": app})
    srv = ThreadingHTTPServer((host, port), handler)
    srv.daemon_threads = True
    return srv
