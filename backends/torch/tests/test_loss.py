"""Parity of the PyTorch loss with grpo.Loss: testdata/loss_parity.json is
written by model/torchparity_test.go from grpo.Loss for every configuration
the embedded trainer's loss test covers."""
from __future__ import annotations

import json
import unittest
from pathlib import Path

import torch

from tabler1_torch.loss import ConfigError, LossConfig, agg_weights, token_loss

FIXTURE = Path(__file__).resolve().parent.parent / "testdata" / "loss_parity.json"


def pad(rows: list[list[float]], width: int) -> torch.Tensor:
    return torch.tensor([r + [0.0] * (width - len(r)) for r in rows], dtype=torch.float64)


class LossParityTest(unittest.TestCase):
    def test_matches_grpo_loss(self) -> None:
        cases = json.loads(FIXTURE.read_text())
        self.assertGreater(len(cases), 40)
        for i, c in enumerate(cases):
            with self.subTest(case=i, config=c["config"]):
                cfg = LossConfig.from_json(c["config"])
                width = max(len(r) for r in c["logprobs"])
                logp = pad(c["logprobs"], width).requires_grad_(True)
                mask = pad(c["mask"], width)
                lengths = torch.tensor([len(r) for r in c["logprobs"]], dtype=torch.float64)
                agg = agg_weights(cfg, mask.sum(-1), lengths)
                parts = token_loss(cfg, logp, pad(c["old_logprobs"], width), pad(c["sampler_logprobs"], width),
                                   pad(c["ref_logprobs"], width), mask, torch.tensor(c["advantages"], dtype=torch.float64), agg)
                parts.loss.backward()
                self.assertAlmostEqual(parts.loss.item(), c["loss"], delta=1e-6)
                self.assertAlmostEqual(parts.pg_loss, c["pg_loss"], delta=1e-6)
                self.assertAlmostEqual(parts.kl_loss, c["kl_loss"], delta=1e-6)
                self.assertAlmostEqual(parts.tokens, c["stats"]["tokens"], delta=1e-9)
                self.assertAlmostEqual(parts.entropy_sum / parts.tokens, c["stats"]["entropy"], delta=1e-6)
                self.assertAlmostEqual(parts.kl_sum / parts.tokens, c["stats"]["kl_mean"], delta=1e-6)
                for s, row in enumerate(c["grad"]):
                    for t, g in enumerate(row):
                        self.assertAlmostEqual(logp.grad[s, t].item(), g, delta=1e-6, msg=f"seq {s} token {t}")

    def test_refuses_unknown_modes_naming_the_field(self) -> None:
        for body, field in [
            ({"loss_agg_mode": "seq-sum"}, "loss_agg_mode"),
            ({"kl_loss_type": "k4"}, "kl_loss_type"),
            ({"rollout_is_mode": "geometric"}, "rollout_is_mode"),
            ({"clip_ratio_c": 0.5}, "clip_ratio_c"),
            ({"entropy_coeff": 0.01}, "entropy_coeff"),
            ({"kl_loss_coef": "x"}, "kl_loss_coef"),
        ]:
            with self.subTest(field=field):
                with self.assertRaises(ConfigError) as cm:
                    LossConfig.from_json(body)
                self.assertEqual(cm.exception.field, field)
                self.assertIn(field, str(cm.exception))


if __name__ == "__main__":
    unittest.main()
