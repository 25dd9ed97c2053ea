"""The benchmark's own logic (FLOP count, timing, table, targets) without the
engine, and, where transformers and the engine are installed, a CPU run on a
tiny random Qwen2 model."""
from __future__ import annotations

import contextlib
import importlib.util
import io
import itertools
import json
import tempfile
import unittest
from pathlib import Path
from typing import Any

from tabler1_torch.bench import (
    CHATML_TEMPLATE,
    ModelShape,
    Row,
    bench_engine,
    bytes_to_unicode,
    completion_lens,
    format_table,
    main,
    make_body,
    split_tokens,
    time_calls,
    train_flops,
    verdicts,
)

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def shape_of(name: str) -> ModelShape:
    return ModelShape.from_config(json.loads((CONFIGS / name / "config.json").read_text()))


class ShapeTest(unittest.TestCase):
    def test_qwen2_1_5b_config_has_the_published_shape(self) -> None:
        cfg = json.loads((CONFIGS / "qwen2-1.5b" / "config.json").read_text())
        self.assertEqual(cfg["model_type"], "qwen2")
        s = ModelShape.from_config(cfg)
        self.assertEqual((s.hidden, s.layers, s.heads, s.kv_heads, s.head_dim, s.intermediate, s.vocab, s.tied),
                         (1536, 28, 12, 2, 128, 8960, 151936, True))
        # Per layer: q 1536^2, k and v 1536x256 each, o 1536^2, MLP 3x1536x8960.
        self.assertEqual(s.layer_matmul_params(), 2 * 1536 * 1536 + 2 * 1536 * 256 + 3 * 1536 * 8960)
        self.assertEqual(s.matmul_params(), 28 * 46_792_704 + 151936 * 1536)
        # Qwen2-1.5B is quoted at 1.54B parameters (tied embeddings).
        self.assertAlmostEqual(s.params() / 1e9, 1.54, delta=0.01)

    def test_from_config_refuses_other_families(self) -> None:
        with self.assertRaisesRegex(ValueError, "hidden_size"):
            ModelShape.from_config({"n_embd": 768})

    def test_train_flops(self) -> None:
        s = ModelShape(hidden=4, layers=2, heads=2, kv_heads=1, head_dim=2, intermediate=8, vocab=10, tied=True)
        n = 2 * (4 * 4 + 2 * 4 * 2 + 4 * 4 + 3 * 4 * 8) + 10 * 4
        self.assertEqual(s.matmul_params(), n)
        layers = n - 10 * 4
        # Two sequences of 3 and 1 tokens, all completion: 6N per token plus
        # causal attention 6 x layers x heads x head_dim x (3*4 + 1*2).
        self.assertEqual(train_flops(s, [3, 1], [3, 1]), 6 * n * 4 + 6 * 2 * 2 * 2 * 14)
        # With 2 and 0 prompt tokens the output projection (10 x 4) runs at
        # the 1 + 1 completion positions only; the layers see all 4 tokens.
        self.assertEqual(train_flops(s, [3, 1], [1, 1]), 6 * layers * 4 + 6 * 10 * 4 * 2 + 6 * 2 * 2 * 2 * 14)
        with self.assertRaises(ValueError):
            train_flops(s, [3, 1], [4, 1])
        with self.assertRaises(ValueError):
            train_flops(s, [3, 1], [3])

    def test_train_flops_qwen2_1_5b_at_8k(self) -> None:
        # The GPU check's micro-batch: 4 sequences of 2048 tokens, 512 prompt.
        s = shape_of("qwen2-1.5b")
        lens = split_tokens(8192, 2048)
        self.assertEqual(completion_lens(lens, 512), [1536] * 4)
        got = train_flops(s, lens, completion_lens(lens, 512))
        want = 6 * 28 * 46_792_704 * 8192 + 6 * 151936 * 1536 * 6144 + 6 * 28 * 12 * 128 * 4 * 2048 * 2049
        self.assertEqual(got, want)
        # 2.87 TFLOP less than counting the head at every position.
        self.assertAlmostEqual((train_flops(s, lens, lens) - got) / 1e12, 6 * 151936 * 1536 * 2048 / 1e12)
        self.assertAlmostEqual(got / 1e12, 77.33, delta=0.01)

    def test_completion_lens(self) -> None:
        self.assertEqual(completion_lens([2048, 904, 1], 512), [1536, 392, 1])
        self.assertEqual(completion_lens([3], 8), [1])  # one prompt token at least

    def test_split_tokens(self) -> None:
        self.assertEqual(split_tokens(8192, 2048), [2048] * 4)
        self.assertEqual(split_tokens(5000, 2048), [2048, 2048, 904])
        with self.assertRaises(ValueError):
            split_tokens(0, 10)


class BodyTest(unittest.TestCase):
    def test_make_body_has_the_protocol_shape(self) -> None:
        b = make_body(5000, 2048, 512, vocab=300, seed=3)
        seqs = b["batch"]["sequences"]
        self.assertEqual(sum(len(s["prompt_tokens"]) + len(s["completion_tokens"]) for s in seqs), 5000)
        for s in seqs:
            self.assertEqual(len(s["sampler_logprobs"]), len(s["completion_tokens"]))
            self.assertTrue(all(0 <= t < 300 for t in s["prompt_tokens"] + s["completion_tokens"]))
            self.assertTrue(all(lp < 0 for lp in s["sampler_logprobs"]))
            self.assertIn(s["advantage"], (-1.0, 1.0))
        self.assertEqual(b["loss"]["kl_loss_coef"], 0)
        self.assertNotEqual(make_body(10, 4, 2, 300, 1)["request_id"], make_body(10, 4, 2, 300, 1)["request_id"])
        self.assertEqual(make_body(10, 4, 2, 300, 1)["batch"], make_body(10, 4, 2, 300, 1)["batch"])


def fake_clock(step: float) -> Any:
    c = itertools.count()
    return lambda: next(c) * step


class TimingTest(unittest.TestCase):
    def test_time_calls_warms_up_and_syncs(self) -> None:
        calls, syncs = [], []
        secs = time_calls(lambda: calls.append(1), lambda: syncs.append(1), warmup=2, iters=3, clock=fake_clock(0.5))
        self.assertEqual(len(calls), 5)
        self.assertEqual(len(syncs), 4)  # once after the warm-up, once per timed call
        self.assertEqual(secs, [0.5, 0.5, 0.5])
        with self.assertRaises(ValueError):
            time_calls(lambda: None, lambda: None, warmup=0, iters=0)

    def test_matmul_tflops_on_cpu(self) -> None:
        try:
            import torch
        except ImportError:
            self.skipTest("torch is not installed (scripts/setup-torch.sh installs Debian's python3-torch)")
        from tabler1_torch.bench import matmul_tflops

        self.assertGreater(matmul_tflops(torch, "cpu", torch.float32, 64, iters=3), 0)


class FakeEngine:
    def __init__(self, oom_above: int = 1 << 30) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.oom_above = oom_above

    def forward_backward(self, body: dict[str, Any]) -> dict[str, Any]:
        n = sum(len(s["prompt_tokens"]) + len(s["completion_tokens"]) for s in body["batch"]["sequences"])
        if n > self.oom_above:
            raise type("OutOfMemoryError", (RuntimeError,), {})("CUDA out of memory. Tried to allocate 9 GiB")
        self.bodies.append(body)
        return {"loss": 0.1, "kl": 0, "clip_fraction": 0, "entropy": 1, "tokens": n}


class BenchEngineTest(unittest.TestCase):
    def test_rows_and_mfu(self) -> None:
        s = shape_of("tiny-qwen2")
        eng = FakeEngine(oom_above=300)
        rows = bench_engine(eng, s, [256, 512], seq_len=128, prompt_len=32, warmup=1, iters=3,
                            sync=lambda: None, reset_peak=lambda: None, peak_bytes=lambda: 3 * 2 ** 30,
                            datasheet_tflops=989.0, matmul=800.0, clock=fake_clock(0.25))
        self.assertEqual(len(eng.bodies), 4)
        self.assertEqual(len({b["request_id"] for b in eng.bodies}), 4)  # every call a new id
        self.assertEqual([b["batch"]["step"] for b in eng.bodies], [1, 2, 3, 4])
        r = rows[0]
        self.assertEqual((r.tokens, r.sequences, r.step_s, r.tokens_per_s, r.peak_gib), (256, 2, 0.25, 1024.0, 3.0))
        want = train_flops(s, [128, 128], [96, 96]) / 0.25 / 1e12
        self.assertAlmostEqual(r.tflops, want)
        self.assertAlmostEqual(r.mfu_datasheet, want / 989.0)
        self.assertAlmostEqual(r.mfu_matmul, want / 800.0)
        self.assertIsNone(rows[1].step_s)
        self.assertIn("out of memory", rows[1].error)
        table = format_table(rows)
        self.assertIn("OOM", table)
        self.assertIn("tokens/micro-batch", table)
        self.assertIn("1,024", table)

    def test_other_errors_propagate(self) -> None:
        class Broken:
            def forward_backward(self, body: dict[str, Any]) -> dict[str, Any]:
                return {"error": "mode not implemented"}

        with self.assertRaisesRegex(RuntimeError, "tokens"):
            bench_engine(Broken(), shape_of("tiny-qwen2"), [64], seq_len=64, prompt_len=8, warmup=0, iters=1,
                         sync=lambda: None, reset_peak=lambda: None, peak_bytes=lambda: None,
                         datasheet_tflops=None, matmul=None)

    def test_verdicts(self) -> None:
        rows = [Row(8192, 4, 0.2, 40960, 30, 420, 0.425, 0.6), Row(16384, 8, None, None, 139, None, None, None, "oom")]
        self.assertEqual(verdicts(rows, 0.40, 8192, 16384), [
            "target MFU >= 40% at 8192 tokens: PASS (42.5%)", "target no OOM at 16384 tokens: FAIL"])
        rows[0].mfu_datasheet = 0.3
        self.assertIn("FAIL (30.0%)", verdicts(rows, 0.40, 8192, 16384)[0])


class TokenizerTest(unittest.TestCase):
    def test_bytes_to_unicode_is_a_bijection_on_bytes(self) -> None:
        m = bytes_to_unicode()
        self.assertEqual(sorted(m), list(range(256)))
        self.assertEqual(len(set(m.values())), 256)
        self.assertEqual(m[ord("A")], "A")

    def test_byte_tokenizer_round_trips_with_chat_template(self) -> None:
        if importlib.util.find_spec("tokenizers") is None:
            self.skipTest("the tokenizers library is not installed (the GPU image has it)")
        from tokenizers import Tokenizer

        from tabler1_torch.bench import write_byte_tokenizer

        with tempfile.TemporaryDirectory() as d:
            write_byte_tokenizer(Path(d))
            tok = Tokenizer.from_file(str(Path(d) / "tokenizer.json"))
            text = "print(df['âge'].max())\n"
            ids = tok.encode(text).ids
            self.assertEqual(ids, list(text.encode()))
            self.assertEqual(tok.decode(ids), text)
            self.assertEqual(tok.encode("<|im_start|>user").ids[0], 257)
            cfg = json.loads((Path(d) / "tokenizer_config.json").read_text())
            self.assertEqual(cfg["chat_template"], CHATML_TEMPLATE)
            self.assertEqual(cfg["eos_token"], "<|im_end|>")


class CPURunTest(unittest.TestCase):
    """python3 -m tabler1_torch.bench --device cpu --tokens 256 on a tiny
    random Qwen2."""

    def test_tiny_model_on_cpu(self) -> None:
        missing = [m for m in ("transformers", "tokenizers", "safetensors") if importlib.util.find_spec(m) is None]
        if missing:
            self.skipTest(f"needs {', '.join(missing)} (the GPU image has them; CI's Debian python3 does not)")
        if importlib.util.find_spec("tabler1_torch.engine") is None:
            self.skipTest("tabler1_torch.engine is not in this tree")
        with tempfile.TemporaryDirectory() as d:
            model = str(Path(d) / "model")
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                self.assertEqual(main(["--prepare", str(CONFIGS / "tiny-qwen2"), "--model", model, "--device", "cpu"]), 0)
                self.assertEqual(main(["--model", model, "--device", "cpu", "--tokens", "256", "--seq-len", "128",
                                       "--prompt-len", "32", "--warmup", "1", "--iters", "2",
                                       "--json", str(Path(d) / "bench.json")]), 0)
            res = json.loads((Path(d) / "bench.json").read_text())
            (row,) = res["rows"]
            self.assertEqual(row["tokens"], 256)
            self.assertGreater(row["tokens_per_s"], 0)
            self.assertIn("tokens/micro-batch", out.getvalue())


if __name__ == "__main__":
    unittest.main()
