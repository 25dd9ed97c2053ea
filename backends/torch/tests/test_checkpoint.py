"""save and load: a checkpoint loaded into a fresh process gives the same
log-probabilities, the same samples and the same next step as the run that
was not interrupted; the embedded family writes the layout the Go side
reads (model/checkpoint.go)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import torch

from tabler1_torch import embedded, st_io
from tabler1_torch.engine import Seq

from .test_protocol import LOSS, grpo_batch, tiny_engine

ROOT = Path(__file__).resolve().parent.parent

# Run in a fresh interpreter: build from the checkpoint, load it (optimizer
# and RNG state), then report what the uninterrupted run reports.
RESUME = r"""
import json, sys, torch
from tabler1_torch.engine import build_engine, Seq
from tests.test_protocol import LOSS, grpo_batch
d = sys.argv[1]
eng = build_engine(d, device="cpu", dtype="float64")
eng.load({"request_id": "l", "dir": d})
lp, _ = eng.completion_logprobs(eng.served, [Seq([256, 65, 66], [67, 68, 257], None, 0.0)])
from tabler1_torch.generate import Job, Sampling, generate
gen = generate(eng.family, eng.served, [Job([256, 65], 2, Sampling(max_tokens=6))], eng.generator)
eng.forward_backward({"batch": grpo_batch(), "loss": LOSS})
st = eng.optim_step({"optim": {"lr": 0.01, "beta2": 0.95, "weight_decay": 0.01, "grad_clip": 1}})
w = {k: v.tolist() for k, v in eng.policy.state_dict().items()}
print(json.dumps({"logprobs": lp[0].tolist(), "samples": [g.tokens for g in gen[0]], "grad_norm": st["grad_norm"],
                  "weights": w, "health": eng.health()}))
"""


class CheckpointTest(unittest.TestCase):
    def test_resume_in_a_fresh_process_continues_exactly(self) -> None:
        eng = tiny_engine(seed=5)
        optim = {"optim": {"lr": 0.01, "beta2": 0.95, "weight_decay": 0.01, "grad_clip": 1}}
        for _ in range(2):
            eng.forward_backward({"batch": grpo_batch(), "loss": LOSS})
            eng.optim_step(optim)
        eng.publish({})
        d = tempfile.mkdtemp()
        self.assertEqual(eng.save({"request_id": "s", "dir": d}), {})
        for f in (embedded.CONFIG_FILE, embedded.WEIGHTS_FILE, embedded.REFERENCE_FILE, embedded.OPTIMIZER_FILE):
            self.assertTrue(os.path.exists(os.path.join(d, f)), f)
        # The Go layout: config.json holds model.Config's keys only, every
        # tensor is F64, the optimizer's metadata holds the step count.
        self.assertEqual(set(json.loads(Path(d, embedded.CONFIG_FILE).read_text())), set(embedded.Config.__dataclass_fields__))
        opt, meta = st_io.load(os.path.join(d, embedded.OPTIMIZER_FILE))
        self.assertEqual(meta, {"step": "2"})
        self.assertTrue(all(t.dtype == torch.float64 for t in opt.values()))
        self.assertEqual(len(opt), 2 * len(list(eng.policy.parameters())))

        # The uninterrupted run. load publishes, so the run publishes too.
        eng.publish({})
        lp, _ = eng.completion_logprobs(eng.served, [Seq([256, 65, 66], [67, 68, 257], None, 0.0)])
        from tabler1_torch.generate import Job, Sampling, generate

        gen = generate(eng.family, eng.served, [Job([256, 65], 2, Sampling(max_tokens=6))], eng.generator)
        eng.forward_backward({"batch": grpo_batch(), "loss": LOSS})
        st = eng.optim_step(optim)

        env = dict(os.environ, PYTHONPATH=str(ROOT))
        out = subprocess.run([sys.executable, "-c", RESUME, d], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        self.assertEqual(out.returncode, 0, out.stderr)
        got = json.loads(out.stdout)
        for a, b in zip(got["logprobs"], lp[0].tolist()):
            self.assertAlmostEqual(a, b, delta=1e-12)
        self.assertEqual(got["samples"], [g.tokens for g in gen[0]])
        self.assertAlmostEqual(got["grad_norm"], st["grad_norm"], delta=1e-12)
        for k, v in eng.policy.state_dict().items():
            torch.testing.assert_close(torch.tensor(got["weights"][k], dtype=torch.float64), v, atol=1e-12, rtol=0)
        self.assertEqual(got["health"]["step"], 3)

    def test_load_refuses_another_architecture(self) -> None:
        eng = tiny_engine()
        d = tempfile.mkdtemp()
        cfg = embedded.Config(layers=1, width=8, heads=2, mlp=16, context=64).with_defaults()
        os.makedirs(d, exist_ok=True)
        embedded.write_config(d, cfg)
        m = embedded.Model(cfg).double()
        st_io.save(os.path.join(d, embedded.WEIGHTS_FILE), embedded.weights(m))
        from tabler1_torch.engine import EngineError

        with self.assertRaises(EngineError) as cm:
            eng.load({"dir": d})
        self.assertEqual(cm.exception.status, 422)
        self.assertIn("architecture", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
