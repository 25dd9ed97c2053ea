"""The embedded model's architecture in PyTorch, for `tabler1 bench model`.

Reads a JSON job on stdin:
  {"config": {...model.Config...}, "batch": B, "seq_len": T, "steps": S,
   "threads": N, "dtype": "float32"|"float64", "checkpoint": DIR|null,
   "check_ids": [...], "check_rows": [...]}
and prints one JSON line: training tokens/s (forward, backward, AdamW) over
random sequences and, when a checkpoint is given, the log-probabilities the
PyTorch model computes for check_ids from the Go model's weights (read from
model.safetensors with the documented tensor names), so the caller can
compare them with its own.
"""
import json
import math
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        dt = {"F64": np.float64, "F32": np.float32}[e["dtype"]]
        lo, hi = e["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[lo:hi], dtype=dt).reshape(e["shape"]).copy())
    return out


class RMSNorm(torch.nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Block(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        d, f = c["width"], c["mlp"]
        self.heads = c["heads"]
        self.attn_norm = RMSNorm(d, c["norm_eps"])
        self.qkv = torch.nn.Linear(d, 3 * d, bias=False)
        self.out = torch.nn.Linear(d, d, bias=False)
        self.mlp_norm = RMSNorm(d, c["norm_eps"])
        self.up = torch.nn.Linear(d, f, bias=False)
        self.down = torch.nn.Linear(f, d, bias=False)

    def forward(self, x):
        b, t, d = x.shape
        h = self.heads
        q, k, v = self.qkv(self.attn_norm(x)).split(d, dim=-1)
        q, k, v = (z.view(b, t, h, d // h).transpose(1, 2) for z in (q, k, v))
        s = (q @ k.transpose(-1, -2)) / math.sqrt(d // h)
        mask = torch.ones(t, t, dtype=torch.bool).tril()
        a = s.masked_fill(~mask, float("-inf")).softmax(-1)
        o = (a @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.out(o)
        return x + self.down(F.gelu(self.up(self.mlp_norm(x)), approximate="tanh"))


class Model(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.tok_emb = torch.nn.Embedding(c["vocab"], c["width"])
        self.pos_emb = torch.nn.Embedding(c["context"], c["width"])
        self.layers = torch.nn.ModuleList(Block(c) for _ in range(c["layers"]))
        self.norm = RMSNorm(c["width"], c["norm_eps"])

    def forward(self, ids):
        t = ids.shape[1]
        x = self.tok_emb(ids) + self.pos_emb(torch.arange(t))
        for l in self.layers:
            x = l(x)
        return self.norm(x) @ self.tok_emb.weight.T

    def load_tabler1(self, sd):
        mine = {}
        for name, v in sd.items():
            n = name.replace("attn.qkv", "qkv").replace("attn.out", "out").replace("mlp.up", "up").replace("mlp.down", "down")
            mine[n] = v
        self.load_state_dict(mine)


def main():
    job = json.load(sys.stdin)
    c = job["config"]
    torch.set_num_threads(job["threads"])
    dtype = {"float32": torch.float32, "float64": torch.float64}[job.get("dtype", "float32")]
    torch.manual_seed(0)
    m = Model(c).to(dtype)
    res = {"torch_version": torch.__version__, "threads": torch.get_num_threads(), "dtype": job.get("dtype", "float32")}
    if job.get("checkpoint"):
        m = m.to(torch.float64)
        m.load_tabler1(load_safetensors(job["checkpoint"] + "/model.safetensors"))
        with torch.no_grad():
            ids = torch.tensor([job["check_ids"]])
            lp = m(ids)[0].log_softmax(-1)
            rows = job["check_rows"]
            res["check_logprobs"] = [lp[r, job["check_ids"][r + 1]].item() for r in rows]
        m = m.to(dtype)
    if job["steps"] == 0:
        print(json.dumps(res))
        return
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.01)
    b, t, steps = job["batch"], job["seq_len"], job["steps"]
    g = torch.Generator().manual_seed(1)

    def step():
        ids = torch.randint(0, 256, (b, t), generator=g)
        logits = m(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, c["vocab"]), ids[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()

    step()  # warm-up
    best = float("inf")
    for _ in range(steps):
        start = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - start)
    # The fastest step counts, as the Go side: the machine may be shared.
    res["train_tokens_per_s"] = b * (t - 1) / best
    print(json.dumps(res))


if __name__ == "__main__":
    main()
