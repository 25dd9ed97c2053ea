"""Publishing new weights to rollout fleets through each engine's documented
weight-update interface (docs/backend-protocol.md, "Publishing to rollout
fleets").

A target is ``KIND=URL``:

- ``sglang=URL``: SGLang's ``POST /update_weights_from_disk`` with
  ``model_path`` (the published directory) and ``weight_version``.
- ``vllm=URL``: full fine-tuning on vLLM's development server
  (``VLLM_SERVER_DEV_MODE=1``): ``POST /pause?mode=wait``, then
  ``POST /collective_rpc`` calling ``reload_weights`` with
  ``weights_path``, then ``POST /resume``.
- ``vllm-lora=URL``: vLLM's runtime LoRA loading
  (``VLLM_ALLOW_RUNTIME_LORA_UPDATING=True``): ``POST /v1/load_lora_adapter``
  under a versioned name (``tabler1-v{version}``), a check that
  ``GET /v1/models`` lists it, then ``POST /v1/unload_lora_adapter`` of the
  previous one.

URL is the server's root (``http://host:port``); a trailing ``/v1`` (the
OpenAI base URL of ``model.endpoints``) is accepted and dropped. The
published directory must be readable by the server at the same path (a
shared file system). Standard library only: every call has a deadline, and
only idempotent calls are retried after a failure the server may have seen.
"""
from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Protocol

KINDS = ("sglang", "vllm", "vllm-lora")

# Attempts after the first for a failed idempotent call, and the first
# back-off (doubled each time, never past the call's deadline).
RETRIES = 2
BACKOFF_S = 0.5


class PublishError(RuntimeError):
    """A publish failed; the message names the target URL and what the server
    said."""


class Publisher(Protocol):
    """Makes one rollout server serve the weights in a directory."""

    url: str

    def publish(self, *, version: int, weights_dir: str, lora: bool) -> None: ...


def lora_name(version: int) -> str:
    """The adapter name a LoRA publish of version serves under."""
    return f"tabler1-v{version}"


def build_publishers(targets: list[str], timeout_s: float) -> list[Publisher]:
    """Parses ``KIND=URL`` targets (KIND in sglang, vllm, vllm-lora); each
    publish to one target is bounded by timeout_s seconds."""
    if not timeout_s > 0:
        raise ValueError(f"publish timeout is {timeout_s!r} s; want > 0")
    out: list[Publisher] = []
    for t in targets:
        kind, sep, url = t.partition("=")
        if not sep or kind not in KINDS:
            raise ValueError(
                f"publish target {t!r}: want KIND=URL with KIND one of {', '.join(KINDS)} "
                "(e.g. sglang=http://10.0.0.5:30000)")
        client = _Client(_server_root(t, url), timeout_s)
        if kind == "sglang":
            out.append(SGLangPublisher(client))
        elif kind == "vllm":
            out.append(VLLMPublisher(client))
        else:
            out.append(VLLMLoRAPublisher(client))
    return out


def _server_root(target: str, url: str) -> str:
    u = urllib.parse.urlsplit(url.strip())
    if u.scheme not in ("http", "https") or not u.hostname or u.query or u.fragment:
        raise ValueError(f"publish target {target!r}: URL {url!r} is not an http:// or https:// server URL")
    try:
        u.port
    except ValueError as e:
        raise ValueError(f"publish target {target!r}: URL {url!r}: {e}") from None
    path = u.path.rstrip("/")
    if path.endswith("/v1"):
        path = path[: -len("/v1")]
    return urllib.parse.urlunsplit((u.scheme, u.netloc, path, "", ""))


@dataclass
class _Answer:
    status: int
    text: str

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.text)
        except ValueError:
            return None


class _Client:
    """HTTP calls to one server under one deadline per publish."""

    def __init__(self, root: str, timeout_s: float) -> None:
        self.root = root
        self.timeout_s = timeout_s
        self.retries = RETRIES
        self.backoff_s = BACKOFF_S
        u = urllib.parse.urlsplit(root)
        self._https = u.scheme == "https"
        self._netloc = u.netloc
        self._prefix = u.path

    def deadline(self) -> float:
        return time.monotonic() + self.timeout_s

    def call(self, method: str, path: str, deadline: float, *, body: Any = None,
             query: dict[str, str] | None = None, idempotent: bool) -> _Answer:
        """One call, retried (with back-off, within deadline) after a refused
        connection, and after timeouts, resets, 408, 429 and 5xx only when
        idempotent. Returns the last answer; raises PublishError when no
        answer came."""
        target = self._prefix + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = None if body is None else json.dumps(body).encode()
        what = f"{method} {self.root}{path}" + ("?" + urllib.parse.urlencode(query) if query else "")
        backoff = self.backoff_s
        attempt = 0
        while True:
            attempt += 1
            left = deadline - time.monotonic()
            if left <= 0:
                raise PublishError(f"{what}: no answer within the publish timeout of {self.timeout_s:g} s")
            try:
                ans = self._once(method, target, data, left)
                err = None
                retryable = idempotent and (ans.status in (408, 429) or ans.status >= 500)
            except ConnectionRefusedError as e:
                ans, err, retryable = None, f"connection refused ({e})", True
            except (TimeoutError, socket.timeout):
                ans, err, retryable = None, f"no answer within {left:.3g} s (timeout)", idempotent
            except (OSError, http.client.HTTPException) as e:
                ans, err, retryable = None, f"{type(e).__name__}: {e}", idempotent
            if not retryable or attempt > self.retries or time.monotonic() + backoff >= deadline:
                if ans is not None:
                    return ans
                tries = f" after {attempt} attempts" if attempt > 1 else ""
                raise PublishError(f"{what}: {err}{tries}")
            time.sleep(backoff)
            backoff *= 2

    def _once(self, method: str, target: str, data: bytes | None, timeout: float) -> _Answer:
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = cls(self._netloc, timeout=timeout)
        try:
            headers = {"Accept": "application/json"}
            if data is not None:
                headers["Content-Type"] = "application/json"
            conn.request(method, target, body=data, headers=headers)
            r = conn.getresponse()
            return _Answer(r.status, r.read().decode("utf-8", "replace"))
        finally:
            conn.close()


def _said(ans: _Answer) -> str:
    """What the server said, briefly: an error message from the JSON shapes
    FastAPI, vLLM and SGLang use, or the text."""
    j = ans.json()
    if isinstance(j, dict):
        for key in ("error", "detail", "message"):
            v = j.get(key)
            if isinstance(v, dict) and isinstance(v.get("message"), str):
                return v["message"]
            if isinstance(v, str) and v:
                return v
    text = ans.text.strip()
    return (text[:500] + "...") if len(text) > 500 else (text or "(empty body)")


def _fail(client: _Client, method: str, path: str, ans: _Answer, hint: str = "") -> PublishError:
    return PublishError(f"{method} {client.root}{path} answered {ans.status}: {_said(ans)}{hint}")


def _wrong_kind(client: _Client, kind: str, lora: bool) -> PublishError:
    if lora:
        return PublishError(f"publish to {client.root}: a LoRA run publishes adapters; target kind {kind} "
                            "loads full weights (use vllm-lora=URL)")
    return PublishError(f"publish to {client.root}: target kind vllm-lora loads LoRA adapters, "
                        "but this run trains full weights (use vllm=URL or sglang=URL)")


class SGLangPublisher:
    """SGLang: ``POST /update_weights_from_disk``. SGLang waits for running
    requests, loads the directory and flushes its cache before it answers, so
    a request sent after publish returns sees the new weights."""

    def __init__(self, client: _Client) -> None:
        self._c = client
        self.url = client.root

    def publish(self, *, version: int, weights_dir: str, lora: bool) -> None:
        if lora:
            raise _wrong_kind(self._c, "sglang", lora)
        path = "/update_weights_from_disk"
        # Loading the same directory again leaves the same weights: a retry is safe.
        ans = self._c.call("POST", path, self._c.deadline(), idempotent=True,
                           body={"model_path": weights_dir, "weight_version": str(version)})
        if ans.status != 200:
            raise _fail(self._c, "POST", path, ans)
        j = ans.json()
        if not isinstance(j, dict) or not isinstance(j.get("success"), bool):
            raise PublishError(f"POST {self.url}{path}: bad answer (want a JSON object with a boolean "
                               f"\"success\"): {_said(ans)}")
        if not j["success"]:
            raise PublishError(f"POST {self.url}{path} did not load {weights_dir}: {_said(ans)}")


class VLLMPublisher:
    """vLLM, full weights: pause (in-flight requests finish on the old
    weights, caches are cleared), ``reload_weights`` from the directory on
    every worker, resume."""

    def __init__(self, client: _Client) -> None:
        self._c = client
        self.url = client.root

    def publish(self, *, version: int, weights_dir: str, lora: bool) -> None:
        if lora:
            raise _wrong_kind(self._c, "vllm", lora)
        c = self._c
        deadline = c.deadline()
        dev = " (start vLLM with VLLM_SERVER_DEV_MODE=1 for this endpoint)"
        ans = c.call("POST", "/pause", deadline, query={"mode": "wait"}, idempotent=True)
        if ans.status != 200:
            raise _fail(c, "POST", "/pause", ans, dev if ans.status == 404 else "")
        rpc = "/collective_rpc"
        body = {"method": "reload_weights", "kwargs": {"weights_path": weights_dir}}
        paused = f"; {self.url} is left paused (POST {self.url}/resume serves whatever weights it now holds)"
        try:
            ans = c.call("POST", rpc, deadline, body=body, idempotent=True)
        except PublishError as e:
            raise PublishError(f"{e}{paused}") from None
        if ans.status != 200:
            raise _fail(c, "POST", rpc, ans, paused)
        if ans.text.strip():
            j = ans.json()
            if not isinstance(j, dict) or not isinstance(j.get("results"), list):
                raise PublishError(f"POST {self.url}{rpc}: bad answer (want empty or a JSON object with "
                                   f"\"results\"): {_said(ans)}{paused}")
        ans = c.call("POST", "/resume", deadline, idempotent=True)
        if ans.status != 200:
            raise _fail(c, "POST", "/resume", ans)


class VLLMLoRAPublisher:
    """vLLM, LoRA: each version is loaded under its own name
    (lora_name(version)); once ``/v1/models`` lists it, the previous adapter
    is unloaded. Requests must name the adapter of the version they want."""

    def __init__(self, client: _Client) -> None:
        self._c = client
        self.url = client.root
        # The adapter the server serves since the last successful publish.
        self.served: str | None = None

    def publish(self, *, version: int, weights_dir: str, lora: bool) -> None:
        if not lora:
            raise _wrong_kind(self._c, "vllm-lora", lora)
        c = self._c
        deadline = c.deadline()
        name = lora_name(version)
        if name != self.served:
            path = "/v1/load_lora_adapter"
            # Not idempotent: a second load of one name is refused.
            ans = c.call("POST", path, deadline, body={"lora_name": name, "lora_path": weights_dir},
                         idempotent=False)
            if ans.status != 200:
                hint = (" (start vLLM with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True and --enable-lora)"
                        if ans.status == 404 else "")
                raise _fail(c, "POST", path, ans, hint)
        ans = c.call("GET", "/v1/models", deadline, idempotent=True)
        if ans.status != 200:
            raise _fail(c, "GET", "/v1/models", ans)
        try:
            ids = [m.get("id") for m in ans.json()["data"]]
        except (KeyError, TypeError, AttributeError):
            raise PublishError(f"GET {self.url}/v1/models: bad answer (want {{\"data\": [{{\"id\": ...}}]}}): "
                               f"{_said(ans)}") from None
        if name not in ids:
            raise PublishError(f"GET {self.url}/v1/models does not list adapter {name} after loading it "
                               f"(it lists {ids})")
        prev, self.served = self.served, name
        if prev is not None and prev != name:
            path = "/v1/unload_lora_adapter"
            ans = c.call("POST", path, deadline, body={"lora_name": prev}, idempotent=False)
            if ans.status != 200:
                raise _fail(c, "POST", path, ans, f" ({name} serves; {prev} is still loaded)")
