"""Publishing against in-process fakes of SGLang's and vLLM's documented
weight-update endpoints. The fakes accept exactly the documented request
shapes (method, path, Content-Type, required fields and their types) and
refuse anything else, so a misspelt field or a wrong path fails the test.
They are fakes: no real vLLM or SGLang server is involved."""
from __future__ import annotations

import json
import socket
import threading
import time
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tabler1_torch.publish import (
    PublishError,
    SGLangPublisher,
    VLLMLoRAPublisher,
    VLLMPublisher,
    build_publishers,
    lora_name,
)

# Documented request fields and their JSON types.
# SGLang: docs/advanced_features/sglang_for_rl.md, "Update Weights from Disk".
SGLANG_UPDATE = {"model_path": str, "load_format": str, "abort_all_requests": bool, "weight_version": str,
                 "is_async": bool, "torch_empty_cache": bool, "keep_pause": bool,
                 "recapture_cuda_graph": bool, "token_step": int, "flush_cache": bool}
# vLLM: docs/features/lora.md ("Dynamically serving LoRA Adapters"); the
# server's LoadLoRAAdapterRequest also has load_inplace.
VLLM_LOAD = {"lora_name": str, "lora_path": str, "load_inplace": bool}
VLLM_UNLOAD = {"lora_name": str, "lora_int_id": int}
# vLLM: docs/features/sleep_mode.md ("HTTP endpoints", /collective_rpc) with
# string args/kwargs; docs/training/layerwise.md (reload_weights, weights_path).
VLLM_RPC = {"method": str, "args": list, "kwargs": dict, "timeout": float}
VLLM_PAUSE_MODES = ("abort", "wait", "keep")


class Shape(Exception):
    """A request that does not have the documented shape."""


def check_fields(body: Any, fields: dict[str, type], required: tuple[str, ...]) -> None:
    if not isinstance(body, dict):
        raise Shape(f"body is {type(body).__name__}, want a JSON object")
    for k, v in body.items():
        if k not in fields:
            raise Shape(f"unknown field {k!r}")
        want = fields[k]
        ok = isinstance(v, want) and not (want in (int, float) and isinstance(v, bool))
        if want is float and isinstance(v, int) and not isinstance(v, bool):
            ok = True
        if not ok and v is not None:
            raise Shape(f"field {k!r} is {type(v).__name__}, want {want.__name__}")
    for k in required:
        if k not in body:
            raise Shape(f"missing field {k!r}")


class Fake:
    """One fake server: state, a request log, and injected failures."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str, Any]] = []
        # path -> list of (status, body) answers to give before behaving.
        self.fail: dict[str, list[tuple[int, str]]] = {}
        self.delay: dict[str, float] = {}
        self.lock = threading.Lock()
        handler = self._handler()
        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.srv.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}"
        self.thread = threading.Thread(target=self.srv.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.srv.shutdown()
        self.srv.server_close()

    def paths(self) -> list[str]:
        return [p for _, p, _ in self.log]

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, str, str]:
        raise NotImplementedError

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def _do(self, method: str) -> None:
                u = urllib.parse.urlsplit(self.path)
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                body: Any = None
                status, ctype, text = 200, "application/json", ""
                try:
                    if raw:
                        if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
                            raise Shape("Content-Type is not application/json")
                        body = json.loads(raw)
                    with fake.lock:
                        fake.log.append((method, u.path, body))
                        injected = fake.fail.get(u.path)
                        canned = injected.pop(0) if injected else None
                    if u.path in fake.delay:
                        time.sleep(fake.delay[u.path])
                    if canned is not None:
                        status, text = canned
                    else:
                        with fake.lock:
                            status, ctype, text = fake.handle(method, u.path, urllib.parse.parse_qs(u.query), body)
                except (Shape, ValueError) as e:
                    status, text = 422, json.dumps({"detail": f"fake refuses: {e}"})
                data = text.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout tests)

            def do_GET(self) -> None:
                self._do("GET")

            def do_POST(self) -> None:
                self._do("POST")

        return H


def not_found(path: str) -> tuple[int, str, str]:
    return 404, "application/json", json.dumps({"detail": f"Not Found: {path}"})


class FakeSGLang(Fake):
    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[tuple[str, str]] = []
        self.success = True

    def handle(self, method, path, query, body):
        if (method, path) != ("POST", "/update_weights_from_disk") or query:
            return not_found(path)
        check_fields(body, SGLANG_UPDATE, ("model_path",))
        if not self.success:
            return 400, "application/json", json.dumps(
                {"success": False, "message": "Failed to update weights: no safetensors", "num_paused_requests": 0})
        self.loaded.append((body["model_path"], body.get("weight_version")))
        return 200, "application/json", json.dumps(
            {"success": True, "message": "Succeeded to update model weights.", "num_paused_requests": 0})


class FakeVLLM(Fake):
    """vLLM's dev server (pause/resume, collective_rpc) and runtime LoRA
    endpoints."""

    def __init__(self) -> None:
        super().__init__()
        self.paused = False
        self.weights: str | None = None
        self.loras: dict[str, str] = {}

    def handle(self, method, path, query, body):
        if method == "POST" and path == "/pause":
            for k, v in query.items():
                if k != "mode" or len(v) != 1 or v[0] not in VLLM_PAUSE_MODES:
                    raise Shape(f"query {k}={v}")
            if body is not None:
                raise Shape("pause takes no body")
            self.paused = True
            return 200, "application/json", json.dumps({"status": "paused"})
        if method == "POST" and path == "/resume":
            if query or body is not None:
                raise Shape("resume takes no query or body")
            self.paused = False
            return 200, "application/json", json.dumps({"status": "resumed"})
        if method == "POST" and path == "/collective_rpc":
            check_fields(body, VLLM_RPC, ("method",))
            if not all(isinstance(v, str) for v in body.get("kwargs", {}).values()):
                raise Shape("kwargs values must be strings")
            if body["method"] != "reload_weights" or set(body.get("kwargs", {})) - {"weights_path"}:
                raise Shape(f"unexpected rpc {body}")
            if not self.paused:
                raise Shape("reload while serving")
            self.weights = body.get("kwargs", {}).get("weights_path")
            return 200, "application/json", json.dumps({"results": [None]})
        if method == "POST" and path == "/v1/load_lora_adapter":
            check_fields(body, VLLM_LOAD, ("lora_name", "lora_path"))
            name = body["lora_name"]
            if name in self.loras:
                return 400, "application/json", json.dumps({"error": {
                    "message": f"The lora adapter '{name}' has already been loaded.",
                    "type": "InvalidUserInput", "code": 400}})
            self.loras[name] = body["lora_path"]
            return 200, "text/plain", f"Success: LoRA adapter '{name}' added successfully."
        if method == "POST" and path == "/v1/unload_lora_adapter":
            check_fields(body, VLLM_UNLOAD, ())
            name = body.get("lora_name")
            if name not in self.loras:
                return 404, "application/json", json.dumps({"error": {
                    "message": f"The lora adapter '{name}' cannot be found.", "type": "NotFoundError", "code": 404}})
            del self.loras[name]
            return 200, "text/plain", f"Success: LoRA adapter '{name}' removed successfully."
        if method == "GET" and path == "/v1/models":
            data = [{"id": "Qwen/Qwen2-1.5B", "object": "model"}] + [
                {"id": n, "object": "model", "root": p, "parent": "Qwen/Qwen2-1.5B"} for n, p in self.loras.items()]
            return 200, "application/json", json.dumps({"object": "list", "data": data})
        return not_found(path)


def refused_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


def one(target: str, timeout_s: float = 5.0) -> Any:
    (p,) = build_publishers([target], timeout_s)
    p._c.backoff_s = 0.01  # keep retry tests fast
    return p


class BuildTest(unittest.TestCase):
    def test_kinds_and_urls(self) -> None:
        ps = build_publishers(["sglang=http://h:30000", "vllm=http://h:8000/v1/", "vllm-lora=https://h/x/v1"], 3)
        self.assertEqual([type(p) for p in ps], [SGLangPublisher, VLLMPublisher, VLLMLoRAPublisher])
        self.assertEqual([p.url for p in ps], ["http://h:30000", "http://h:8000", "https://h/x"])

    def test_refuses_bad_targets(self) -> None:
        cases = {
            "tgi=http://h:80": "tgi=http://h:80",
            "http://h:80": "http://h:80",
            "sglang=ftp://h": "not an http",
            "vllm=http://h:notaport": "vllm=http://h:notaport",
            "sglang=": "not an http",
        }
        for target, want in cases.items():
            with self.subTest(target=target):
                with self.assertRaises(ValueError) as cm:
                    build_publishers([target], 1)
                self.assertIn(want, str(cm.exception))
        with self.assertRaisesRegex(ValueError, "timeout"):
            build_publishers(["sglang=http://h"], 0)

    def test_lora_name_is_versioned(self) -> None:
        self.assertEqual(lora_name(7), "tabler1-v7")


class FakeStrictnessTest(unittest.TestCase):
    """The fakes refuse what the documentation does not describe, so the
    publish tests can fail."""

    def test_wrong_field_refused(self) -> None:
        for fake, path, body in [(FakeSGLang(), "/update_weights_from_disk", {"path": "/w"}),
                                 (FakeVLLM(), "/v1/load_lora_adapter", {"name": "a", "lora_path": "/w"}),
                                 (FakeVLLM(), "/collective_rpc", {"method": "reload_weights",
                                                                  "kwargs": {"model_path": "/w"}})]:
            try:
                c = one(("sglang=" if isinstance(fake, FakeSGLang) else "vllm=") + fake.url)._c
                ans = c.call("POST", path, c.deadline(), body=body, idempotent=False)
                self.assertEqual(ans.status, 422, ans.text)
            finally:
                fake.close()


class SGLangTest(unittest.TestCase):
    def setUp(self) -> None:
        self.fake = FakeSGLang()
        self.addCleanup(self.fake.close)

    def test_publish_sends_documented_request(self) -> None:
        p = one("sglang=" + self.fake.url + "/v1")
        p.publish(version=3, weights_dir="/shared/pub/v3", lora=False)
        self.assertEqual(self.fake.log, [("POST", "/update_weights_from_disk",
                                          {"model_path": "/shared/pub/v3", "weight_version": "3"})])
        self.assertEqual(self.fake.loaded, [("/shared/pub/v3", "3")])

    def test_unsuccessful_update_names_url_and_message(self) -> None:
        self.fake.success = False
        with self.assertRaises(PublishError) as cm:
            one("sglang=" + self.fake.url).publish(version=1, weights_dir="/w", lora=False)
        self.assertIn(self.fake.url + "/update_weights_from_disk", str(cm.exception))
        self.assertIn("no safetensors", str(cm.exception))

    def test_500_is_retried_then_reported(self) -> None:
        self.fake.fail["/update_weights_from_disk"] = [(500, '{"detail":"boom"}')] * 3
        with self.assertRaisesRegex(PublishError, r"answered 500: boom"):
            one("sglang=" + self.fake.url).publish(version=1, weights_dir="/w", lora=False)
        self.assertEqual(len(self.fake.log), 3)  # first attempt + 2 retries

    def test_500_then_success(self) -> None:
        self.fake.fail["/update_weights_from_disk"] = [(503, "busy")]
        one("sglang=" + self.fake.url).publish(version=2, weights_dir="/w", lora=False)
        self.assertEqual(self.fake.loaded, [("/w", "2")])

    def test_bad_answer(self) -> None:
        for answer in ["<html>ok</html>", '{"message": "ok"}', '{"success": "yes"}']:
            with self.subTest(answer=answer):
                self.fake.fail["/update_weights_from_disk"] = [(200, answer)]
                with self.assertRaisesRegex(PublishError, "bad answer"):
                    one("sglang=" + self.fake.url).publish(version=1, weights_dir="/w", lora=False)

    def test_timeout_is_bounded(self) -> None:
        self.fake.delay["/update_weights_from_disk"] = 2.0
        t0 = time.monotonic()
        with self.assertRaises(PublishError) as cm:
            one("sglang=" + self.fake.url, timeout_s=0.3).publish(version=1, weights_dir="/w", lora=False)
        self.assertLess(time.monotonic() - t0, 1.5)
        self.assertIn(self.fake.url, str(cm.exception))
        self.assertRegex(str(cm.exception), "timeout")

    def test_lora_refused(self) -> None:
        with self.assertRaisesRegex(PublishError, "vllm-lora"):
            one("sglang=" + self.fake.url).publish(version=1, weights_dir="/w", lora=True)
        self.assertEqual(self.fake.log, [])


class RefusedTest(unittest.TestCase):
    def test_refused_connection_names_url(self) -> None:
        url = refused_url()
        for kind in ("sglang", "vllm", "vllm-lora"):
            with self.subTest(kind=kind):
                with self.assertRaises(PublishError) as cm:
                    one(f"{kind}={url}", timeout_s=2).publish(version=1, weights_dir="/w", lora=kind == "vllm-lora")
                self.assertIn(url, str(cm.exception))
                self.assertIn("refused", str(cm.exception))


class VLLMTest(unittest.TestCase):
    def setUp(self) -> None:
        self.fake = FakeVLLM()
        self.addCleanup(self.fake.close)

    def test_pause_reload_resume(self) -> None:
        one("vllm=" + self.fake.url + "/v1").publish(version=4, weights_dir="/shared/pub/v4", lora=False)
        self.assertEqual(self.fake.log, [
            ("POST", "/pause", None),
            ("POST", "/collective_rpc", {"method": "reload_weights", "kwargs": {"weights_path": "/shared/pub/v4"}}),
            ("POST", "/resume", None),
        ])
        self.assertEqual(self.fake.weights, "/shared/pub/v4")
        self.assertFalse(self.fake.paused)

    def test_failed_reload_stays_paused(self) -> None:
        self.fake.fail["/collective_rpc"] = [(400, '{"error": {"message": "no safetensors in /w", "code": 400}}')]
        with self.assertRaises(PublishError) as cm:
            one("vllm=" + self.fake.url).publish(version=1, weights_dir="/w", lora=False)
        self.assertIn("no safetensors in /w", str(cm.exception))
        self.assertIn("left paused", str(cm.exception))
        self.assertNotIn("/resume", self.fake.paths())

    def test_missing_dev_mode_is_explained(self) -> None:
        self.fake.fail["/pause"] = [(404, '{"detail": "Not Found"}')]
        with self.assertRaisesRegex(PublishError, "VLLM_SERVER_DEV_MODE=1"):
            one("vllm=" + self.fake.url).publish(version=1, weights_dir="/w", lora=False)

    def test_bad_rpc_answer(self) -> None:
        self.fake.fail["/collective_rpc"] = [(200, "[1, 2]")]
        with self.assertRaisesRegex(PublishError, "bad answer"):
            one("vllm=" + self.fake.url).publish(version=1, weights_dir="/w", lora=False)

    def test_lora_refused(self) -> None:
        with self.assertRaisesRegex(PublishError, "vllm-lora"):
            one("vllm=" + self.fake.url).publish(version=1, weights_dir="/w", lora=True)


class VLLMLoRATest(unittest.TestCase):
    def setUp(self) -> None:
        self.fake = FakeVLLM()
        self.addCleanup(self.fake.close)

    def test_versioned_load_then_unload_previous(self) -> None:
        p = one("vllm-lora=" + self.fake.url)
        p.publish(version=1, weights_dir="/pub/v1", lora=True)
        self.assertEqual(self.fake.loras, {"tabler1-v1": "/pub/v1"})
        p.publish(version=2, weights_dir="/pub/v2", lora=True)
        self.assertEqual(self.fake.loras, {"tabler1-v2": "/pub/v2"})
        self.assertEqual(self.fake.log[-3:], [
            ("POST", "/v1/load_lora_adapter", {"lora_name": "tabler1-v2", "lora_path": "/pub/v2"}),
            ("GET", "/v1/models", None),
            ("POST", "/v1/unload_lora_adapter", {"lora_name": "tabler1-v1"}),
        ])
        self.assertEqual(p.served, "tabler1-v2")

    def test_same_version_again_does_not_reload(self) -> None:
        p = one("vllm-lora=" + self.fake.url)
        p.publish(version=5, weights_dir="/pub/v5", lora=True)
        p.publish(version=5, weights_dir="/pub/v5", lora=True)
        self.assertEqual(self.fake.paths().count("/v1/load_lora_adapter"), 1)
        self.assertEqual(self.fake.loras, {"tabler1-v5": "/pub/v5"})

    def test_failed_load_keeps_previous(self) -> None:
        p = one("vllm-lora=" + self.fake.url)
        p.publish(version=1, weights_dir="/pub/v1", lora=True)
        self.fake.fail["/v1/load_lora_adapter"] = [
            (400, '{"error": {"message": "Invalid LoRA adapter: no adapter_config.json", "code": 400}}')]
        with self.assertRaises(PublishError) as cm:
            p.publish(version=2, weights_dir="/pub/v2", lora=True)
        self.assertIn("no adapter_config.json", str(cm.exception))
        self.assertIn(self.fake.url, str(cm.exception))
        self.assertEqual(self.fake.loras, {"tabler1-v1": "/pub/v1"})
        self.assertEqual(p.served, "tabler1-v1")

    def test_load_500_not_retried(self) -> None:
        self.fake.fail["/v1/load_lora_adapter"] = [(500, "Internal Server Error")] * 3
        with self.assertRaisesRegex(PublishError, "answered 500"):
            one("vllm-lora=" + self.fake.url).publish(version=1, weights_dir="/w", lora=True)
        self.assertEqual(self.fake.paths().count("/v1/load_lora_adapter"), 1)

    def test_not_listed_after_load(self) -> None:
        self.fake.fail["/v1/models"] = [(200, '{"object": "list", "data": [{"id": "base"}]}')]
        with self.assertRaisesRegex(PublishError, "does not list adapter tabler1-v1"):
            one("vllm-lora=" + self.fake.url).publish(version=1, weights_dir="/w", lora=True)

    def test_runtime_lora_disabled_is_explained(self) -> None:
        self.fake.fail["/v1/load_lora_adapter"] = [(404, '{"detail": "Not Found"}')]
        with self.assertRaisesRegex(PublishError, "VLLM_ALLOW_RUNTIME_LORA_UPDATING"):
            one("vllm-lora=" + self.fake.url).publish(version=1, weights_dir="/w", lora=True)

    def test_full_weights_refused(self) -> None:
        with self.assertRaisesRegex(PublishError, "vllm=URL or sglang=URL"):
            one("vllm-lora=" + self.fake.url).publish(version=1, weights_dir="/w", lora=False)


if __name__ == "__main__":
    unittest.main()
