"""Data parallelism: two CPU processes over gloo (rank 0 announcing each
call, each rank taking its share of the batch) give the loss, gradient norm
and next weights of one process, on the Go-checked embedded fixture."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import unittest
from pathlib import Path

import torch
import torch.distributed as tdist

from tabler1_torch.engine import build_engine

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "testdata" / "embedded"

RANK = r"""
import json, sys, torch
from tabler1_torch import dist
from tabler1_torch.engine import build_engine
case = json.load(open(sys.argv[1] + "/case.json"))
g = dist.init_from_env()
eng = build_engine(sys.argv[1], device="cpu", dtype="float64", dist=g)
if not g.is_main:
    g.follow(eng)
    sys.exit(0)
fb = eng.forward_backward({"request_id": "f", "batch": {"sequences": case["sequences"]}, "loss": case["loss"]})
again = eng.forward_backward({"request_id": "f", "batch": {"sequences": case["sequences"]}, "loss": case["loss"]})
st = eng.optim_step({"request_id": "o", "optim": case["optim"]})
sft = eng.sft_forward_backward({"batch": {"sequences": [{"prompt": "a", "completion": "b"}, {"prompt": "cc", "completion": "d"}, {"prompt": "e", "completion": "ff"}]}})
st2 = eng.optim_step({"optim": case["optim"]})
w = {k: v.tolist() for k, v in eng.policy.state_dict().items()}
g.shutdown()
print(json.dumps({"fb": fb, "again": again, "step": st, "sft": sft, "step2": st2, "weights": w}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@unittest.skipUnless(tdist.is_available() and tdist.is_gloo_available(), "this torch build has no gloo backend: the 2-process test needs it")
class DataParallelTest(unittest.TestCase):
    def test_two_ranks_equal_one(self) -> None:
        case = json.loads((FIXTURE / "case.json").read_text())
        one = build_engine(str(FIXTURE), device="cpu", dtype="float64")
        fb = one.forward_backward({"batch": {"sequences": case["sequences"]}, "loss": case["loss"]})
        st = one.optim_step({"optim": case["optim"]})
        sft = one.sft_forward_backward({"batch": {"sequences": [{"prompt": "a", "completion": "b"}, {"prompt": "cc", "completion": "d"}, {"prompt": "e", "completion": "ff"}]}})
        st2 = one.optim_step({"optim": case["optim"]})

        port = free_port()
        procs = []
        for rank in range(2):
            env = dict(os.environ, PYTHONPATH=str(ROOT), RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2",
                       MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), CUDA_VISIBLE_DEVICES="")
            procs.append(subprocess.Popen([sys.executable, "-c", RANK, str(FIXTURE)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        outs = [p.communicate(timeout=300) for p in procs]
        for p, (_, err) in zip(procs, outs):
            self.assertEqual(p.returncode, 0, err)
        got = json.loads(outs[0][0])
        self.assertEqual(got["fb"], got["again"])
        for k in ("loss", "kl", "clip_fraction", "entropy", "tokens"):
            self.assertAlmostEqual(got["fb"][k], fb[k], delta=1e-9, msg=k)
        self.assertAlmostEqual(got["fb"]["loss"], case["want_loss"], delta=1e-6)
        self.assertAlmostEqual(got["step"]["grad_norm"], st["grad_norm"], delta=1e-9)
        self.assertAlmostEqual(got["sft"]["loss"], sft["loss"], delta=1e-9)
        self.assertEqual(got["sft"]["tokens"], sft["tokens"])
        self.assertAlmostEqual(got["step2"]["grad_norm"], st2["grad_norm"], delta=1e-9)
        for k, v in one.policy.state_dict().items():
            torch.testing.assert_close(torch.tensor(got["weights"][k], dtype=torch.float64), v, atol=1e-9, rtol=0)


if __name__ == "__main__":
    unittest.main()
