"""Parity of the PyTorch embedded transformer with the Go trainer:
testdata/embedded is written by model/torchparity_test.go (a tiny
checkpoint whose policy differs from its reference, one GRPO batch with a
KL term, the Go trainer's loss, gradients, gradient norm and weights after
one AdamW step)."""
from __future__ import annotations

import json
import unittest
from pathlib import Path

import torch

from tabler1_torch import st_io
from tabler1_torch.engine import build_engine

DIR = Path(__file__).resolve().parent.parent / "testdata" / "embedded"


class EmbeddedParityTest(unittest.TestCase):
    def test_loss_gradients_and_step_match_go(self) -> None:
        case = json.loads((DIR / "case.json").read_text())
        eng = build_engine(str(DIR), device="cpu", dtype="float64", micro_batch_tokens=24)
        out = eng.forward_backward({"request_id": "fb", "batch": {"step": 1, "sequences": case["sequences"]}, "loss": case["loss"]})
        self.assertAlmostEqual(out["loss"], case["want_loss"], delta=1e-6)
        grads, _ = st_io.load(str(DIR / "grads.safetensors"))
        params = dict(eng.policy.named_parameters())
        self.assertEqual(set(grads), set(params))
        for name, g in grads.items():
            with self.subTest(grad=name):
                got = params[name].grad
                self.assertIsNotNone(got)
                torch.testing.assert_close(got, g, atol=1e-6, rtol=1e-6)
        step = eng.optim_step({"request_id": "os", "optim": case["optim"]})
        self.assertAlmostEqual(step["grad_norm"], case["want_grad_norm"], delta=1e-6)
        nxt, _ = st_io.load(str(DIR / "next.safetensors"))
        for name, w in nxt.items():
            with self.subTest(weight=name):
                torch.testing.assert_close(params[name].detach(), w, atol=1e-6, rtol=1e-6)

    def test_micro_batch_budget_does_not_change_the_gradient(self) -> None:
        case = json.loads((DIR / "case.json").read_text())
        norms = []
        for budget in (1, 10_000):
            eng = build_engine(str(DIR), device="cpu", dtype="float64", micro_batch_tokens=budget)
            eng.forward_backward({"batch": {"sequences": case["sequences"]}, "loss": case["loss"]})
            norms.append(eng.optim_step({"optim": {"lr": 1e-3}})["grad_norm"])
        self.assertAlmostEqual(norms[0], norms[1], delta=1e-9)
        self.assertAlmostEqual(norms[0], case["want_grad_norm"], delta=1e-6)


if __name__ == "__main__":
    unittest.main()
