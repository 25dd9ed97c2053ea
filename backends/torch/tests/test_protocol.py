"""The remote backend protocol and the OpenAI serving over HTTP, against a
fresh embedded model: tokens, idempotent request ids, refusals naming the
field, 409 without a gradient, publish switching the served weights, and
the token data fields tabler1's rollout client reads."""
from __future__ import annotations

import json
import os
import tempfile
import threading
import unittest
import urllib.error
import urllib.request
from typing import Any, Optional

import torch

from tabler1_torch import embedded
from tabler1_torch.engine import Engine, build_engine
from tabler1_torch.server import App, make_server

TOKEN = "s3cret"
TINY = {"layers": 1, "width": 16, "heads": 2, "mlp": 32, "context": 64}


def tiny_engine(seed: int = 3, config: Optional[dict] = None, **opts: Any) -> Engine:
    d = tempfile.mkdtemp()
    path = os.path.join(d, "cfg.json")
    with open(path, "w") as f:
        json.dump(config or TINY, f)
    return build_engine("embedded:" + path, device="cpu", dtype="float64", seed=seed, **opts)


def grpo_batch() -> dict:
    seqs = []
    for i in range(3):
        prompt = [embedded.BOS] + list(f"q{i}".encode())
        comp = list(f"a{i}!".encode()) + [embedded.EOS]
        seqs.append({"id": str(i), "prompt_tokens": prompt, "completion_tokens": comp,
                     "sampler_logprobs": [-5.5] * len(comp), "advantage": [1.0, -0.5, 0.25][i]})
    return {"step": 1, "sequences": seqs}


LOSS = {"clip_ratio_low": 0.2, "clip_ratio_high": 0.28, "clip_ratio_c": 3, "loss_agg_mode": "token-mean",
        "kl_loss_type": "k3", "kl_loss_coef": 0.001, "rollout_is_threshold": 2, "rollout_is_mode": "token_truncate"}


class Server:
    def __init__(self, engine: Engine, token: Optional[str] = TOKEN) -> None:
        self.engine = engine
        self.srv = make_server(App(engine, token), "127.0.0.1", 0)
        self.url = "http://127.0.0.1:%d" % self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.srv.shutdown()
        self.srv.server_close()

    def call(self, path: str, body: Optional[dict] = None, token: Optional[str] = TOKEN) -> tuple[int, dict]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method="GET" if body is None else "POST")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())


class ProtocolTest(unittest.TestCase):
    def setUp(self) -> None:
        self.s = Server(tiny_engine())

    def tearDown(self) -> None:
        self.s.close()

    def test_bearer_token(self) -> None:
        for tok in (None, "wrong"):
            code, body = self.s.call("/v1/health", token=tok)
            self.assertEqual(code, 401)
            self.assertIn("bearer token", body["error"])
            code, _ = self.s.call("/v1/completions", {"prompt": "x"}, token=tok)
            self.assertEqual(code, 401)
        code, body = self.s.call("/v1/health")
        self.assertEqual((code, body["status"], body["version"]), (200, "ok", 0))

    def test_repeated_request_id_does_not_add_the_gradient_twice(self) -> None:
        once = tiny_engine()
        once.forward_backward({"batch": grpo_batch(), "loss": LOSS})
        want = once.optim_step({"optim": {"lr": 1e-3}})["grad_norm"]
        req = {"request_id": "fb-1", "batch": grpo_batch(), "loss": LOSS}
        c1, a1 = self.s.call("/v1/forward_backward", req)
        c2, a2 = self.s.call("/v1/forward_backward", req)
        self.assertEqual((c1, c2), (200, 200))
        self.assertEqual(a1, a2)
        self.assertEqual(set(a1), {"loss", "kl", "clip_fraction", "entropy", "tokens"})
        self.assertEqual(a1["tokens"], sum(len(s["prompt_tokens"]) + len(s["completion_tokens"]) for s in grpo_batch()["sequences"]))
        code, st = self.s.call("/v1/optim_step", {"request_id": "os-1", "optim": {"lr": 1e-3}})
        self.assertEqual(code, 200)
        self.assertAlmostEqual(st["grad_norm"], want, delta=1e-12)
        self.assertEqual(self.s.call("/v1/optim_step", {"request_id": "os-1", "optim": {"lr": 1e-3}}), (200, st))

    def test_refusals(self) -> None:
        code, body = self.s.call("/v1/optim_step", {"request_id": "o", "optim": {"lr": 1e-3}})
        self.assertEqual(code, 409)
        for field, value in [("loss_agg_mode", "seq-sum"), ("rollout_is_mode", "geo"), ("kl_loss_type", "k9"), ("entropy_coeff", 0.1)]:
            with self.subTest(field=field):
                code, body = self.s.call("/v1/forward_backward", {"request_id": field, "batch": grpo_batch(), "loss": {**LOSS, field: value}})
                self.assertEqual(code, 400)
                self.assertIn(field, body["error"])
        bad = grpo_batch()
        del bad["sequences"][1]["completion_tokens"]
        code, body = self.s.call("/v1/forward_backward", {"request_id": "b", "batch": bad, "loss": LOSS})
        self.assertEqual(code, 400)
        self.assertIn("batch.sequences[1].completion_tokens", body["error"])
        code, body = self.s.call("/v1/forward_backward", {"request_id": "nl", "batch": grpo_batch()})
        self.assertEqual(code, 400)
        self.assertIn("loss", body["error"])
        code, body = self.s.call("/v1/save", {"request_id": "s", "dir": "relative/dir"})
        self.assertEqual(code, 400)
        self.assertEqual(self.s.call("/v1/nope", {})[0], 404)

    def test_reference_not_loaded_without_kl(self) -> None:
        eng = self.s.engine
        self.s.call("/v1/forward_backward", {"request_id": "a", "batch": grpo_batch(), "loss": {**LOSS, "kl_loss_coef": 0}})
        self.assertIsNone(eng.reference)
        self.s.call("/v1/forward_backward", {"request_id": "b", "batch": grpo_batch(), "loss": LOSS})
        self.assertIsNotNone(eng.reference)
        self.assertFalse(any(p.requires_grad for p in eng.reference.parameters()))

    def test_sft_text_only(self) -> None:
        batch = {"step": 1, "sequences": [{"id": "x", "prompt": "Q", "completion": "A", "advantage": 1}]}
        code, out = self.s.call("/v1/sft_forward_backward", {"request_id": "s1", "batch": batch})
        self.assertEqual(code, 200)
        # BOS Q | A EOS: two completion tokens, two prompt tokens.
        self.assertEqual(out["tokens"], 4)
        self.assertGreater(out["loss"], 0)
        self.assertEqual((out["kl"], out["clip_fraction"]), (0.0, 0.0))

    def test_completions_token_data(self) -> None:
        code, out = self.s.call("/v1/completions", {"model": "tabler1-tiny", "prompt": "hi", "n": 3, "max_tokens": 6, "logprobs": 1,
                                                   "return_tokens_as_token_ids": True, "return_token_ids": True, "seed": 1})
        self.assertEqual(code, 200, out)
        self.assertEqual(len(out["choices"]), 3)
        for ch in out["choices"]:
            self.assertEqual(ch["prompt_token_ids"], [embedded.BOS] + list(b"hi"))
            self.assertEqual(len(ch["token_ids"]), len(ch["logprobs"]["token_logprobs"]))
            self.assertEqual(ch["logprobs"]["tokens"], ["token_id:%d" % t for t in ch["token_ids"]])
            self.assertIn(ch["finish_reason"], ("stop", "length"))
            # The sampler's log-probs are the policy's own (temperature 1).
            logp, _ = self.s.engine.completion_logprobs(self.s.engine.served, [_seq(ch["prompt_token_ids"], ch["token_ids"])])
            for a, b in zip(ch["logprobs"]["token_logprobs"], logp[0].tolist()):
                self.assertAlmostEqual(a, b, delta=1e-9)
        code, chat = self.s.call("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4, "logprobs": True,
                                                         "return_tokens_as_token_ids": True})
        self.assertEqual(code, 200, chat)
        self.assertEqual(chat["prompt_token_ids"], embedded.chat_prompt([{"role": "user", "content": "hi"}]))
        ch = chat["choices"][0]
        self.assertEqual([c["token"] for c in ch["logprobs"]["content"]], ["token_id:%d" % t for t in ch["token_ids"]])
        code, models = self.s.call("/v1/models")
        self.assertEqual(models["data"][0]["id"], "tabler1-tiny")
        code, err = self.s.call("/v1/completions", {"prompt": "x", "n": 0})
        self.assertEqual((code, err.get("param")), (400, "n"))

    def test_greedy_is_deterministic_and_seeded_sampling_repeats(self) -> None:
        req = {"prompt": "ab", "max_tokens": 5, "temperature": 0}
        a = self.s.call("/v1/completions", req)[1]["choices"][0]["token_ids"]
        b = self.s.call("/v1/completions", req)[1]["choices"][0]["token_ids"]
        self.assertEqual(a, b)
        req = {"prompt": "ab", "max_tokens": 8, "seed": 7, "n": 2}
        x = [c["token_ids"] for c in self.s.call("/v1/completions", req)[1]["choices"]]
        y = [c["token_ids"] for c in self.s.call("/v1/completions", req)[1]["choices"]]
        self.assertEqual(x, y)

    def test_publish_switches_served_weights(self) -> None:
        eng = self.s.engine
        before = eng.served
        old = {k: v.clone() for k, v in before.state_dict().items()}
        req = {"prompt": "ab", "max_tokens": 4, "temperature": 0, "logprobs": 0}
        lp0 = self.s.call("/v1/completions", req)[1]["choices"][0]["logprobs"]["token_logprobs"]
        self.s.call("/v1/forward_backward", {"request_id": "f", "batch": grpo_batch(), "loss": LOSS})
        self.s.call("/v1/optim_step", {"request_id": "o", "optim": {"lr": 0.05}})
        # Trained but not published: rollouts still see the old weights.
        self.assertEqual(self.s.call("/v1/completions", req)[1]["choices"][0]["logprobs"]["token_logprobs"], lp0)
        code, v = self.s.call("/v1/publish", {"request_id": "p"})
        self.assertEqual((code, v), (200, {"version": 1}))
        self.assertEqual(self.s.call("/v1/publish", {"request_id": "p"})[1], {"version": 1})
        self.assertNotEqual(self.s.call("/v1/completions", req)[1]["choices"][0]["logprobs"]["token_logprobs"], lp0)
        # A request bound to the old snapshot before publish keeps its weights.
        for k, v in before.state_dict().items():
            self.assertTrue(torch.equal(v, old[k]), k)
        self.assertIsNot(eng.served, before)
        self.assertEqual(self.s.call("/v1/health")[1]["version"], 1)


class CLITest(unittest.TestCase):
    def test_refuses_a_public_address_without_a_token(self) -> None:
        import subprocess
        import sys
        from pathlib import Path

        env = {k: v for k, v in os.environ.items() if k != "TABLER1_BACKEND_TOKEN"}
        env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
        out = subprocess.run([sys.executable, "-m", "tabler1_torch", "--model", "embedded:/nonexistent.json", "--port", "0", "--host", "0.0.0.0"],
                             env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 2)
        self.assertIn("TABLER1_BACKEND_TOKEN", out.stderr)


class GenerateTest(unittest.TestCase):
    def test_batched_prompts_of_different_lengths_equal_alone(self) -> None:
        from tabler1_torch.generate import Job, Sampling, generate

        eng = tiny_engine(seed=11, config={**TINY, "layers": 2})  # padding reaches a later layer's keys
        fam = eng.family
        jobs = [Job(fam.encode_prompt("a much longer prompt"), 2, Sampling(temperature=0, max_tokens=7)),
                Job(fam.encode_prompt("hi"), 1, Sampling(temperature=0, max_tokens=3)),
                Job(fam.encode_prompt("mid size"), 1, Sampling(temperature=0, max_tokens=12, stop=("zz",)))]
        together = generate(fam, eng.served, jobs, eng.generator)
        for job, got in zip(jobs, together):
            (alone,) = generate(fam, eng.served, [job], eng.generator)
            for a, b in zip(got, alone):
                self.assertEqual(a.tokens, b.tokens)
                self.assertEqual(a.finish, b.finish)
                for x, y in zip(a.logprobs, b.logprobs):
                    self.assertAlmostEqual(x, y, delta=1e-9)
            self.assertTrue(all(len(g.tokens) <= job.sampling.max_tokens for g in got))


class PublishHookTest(unittest.TestCase):
    """--publish-to: the weights are written to DIR/vN and every publisher
    is called; a failure is an error answer naming the target."""

    def test_publishers_called_and_failures_named(self) -> None:
        calls: list[tuple[str, int, str, bool]] = []

        class Fake:
            def __init__(self, target: str, fail: bool) -> None:
                self.target, self.fail = target, fail

            def publish(self, *, version: int, weights_dir: str, lora: bool) -> None:
                calls.append((self.target, version, weights_dir, lora))
                if self.fail:
                    raise RuntimeError("connection refused")

        d = tempfile.mkdtemp()
        eng = tiny_engine(publish_to=["sglang=http://a", "vllm=http://b"], publish_dir=d)
        eng._publishers = [("sglang=http://a", Fake("a", False)), ("vllm=http://b", Fake("b", False))]
        self.assertEqual(eng.publish({"request_id": "1"}), {"version": 1})
        self.assertEqual([c[:2] for c in calls], [("a", 1), ("b", 1)])
        self.assertEqual(calls[0][2], os.path.join(d, "v1"))
        self.assertTrue(os.path.exists(os.path.join(d, "v1", embedded.WEIGHTS_FILE)))
        self.assertFalse(calls[0][3])
        eng._publishers[1] = ("vllm=http://b", Fake("b", True))
        from tabler1_torch.engine import EngineError

        with self.assertRaises(EngineError) as cm:
            eng.publish({"request_id": "2"})
        self.assertIn("vllm=http://b", str(cm.exception))
        self.assertEqual(cm.exception.status, 502)


def _seq(prompt: list[int], comp: list[int]) -> Any:
    from tabler1_torch.engine import Seq

    return Seq(prompt, comp, None, 0.0)


if __name__ == "__main__":
    unittest.main()
