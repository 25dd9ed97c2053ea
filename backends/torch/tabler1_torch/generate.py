"""Batched sampling with a KV cache, and a batcher that runs the requests
waiting at the same moment as one batch.

Log-probabilities are the model's at temperature 1 without top-p truncation
(the policy's own, as vLLM's default and the embedded server return), so the
trainer's ratio compares like with like.
"""
from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Optional

import torch


@dataclass(frozen=True)
class Sampling:
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 16
    stop: tuple[str, ...] = ()
    seed: Optional[int] = None


@dataclass
class Generation:
    tokens: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    text: str = ""
    finish: str = "length"
    stop_string: Optional[str] = None


@dataclass
class Job:
    prompt: list[int]
    n: int
    sampling: Sampling


def _sample(probs: torch.Tensor, temperature: float, top_p: float, gen: torch.Generator) -> torch.Tensor:
    """Draws one token per row of probs [R, V] (temperature 1 probabilities)."""
    if temperature == 0:
        return probs.argmax(-1)
    q = probs.double().pow(1.0 / temperature) if temperature != 1 else probs.double()
    q = q / q.sum(-1, keepdim=True)
    if 0 < top_p < 1:
        sq, ix = q.sort(-1, descending=True)
        keep = (sq.cumsum(-1) - sq) < top_p  # the smallest prefix reaching top_p
        sq = sq * keep
        choice = torch.multinomial(sq.cpu(), 1, generator=gen).squeeze(-1)
        return ix.cpu().gather(-1, choice.unsqueeze(-1)).squeeze(-1)
    return torch.multinomial(q.cpu(), 1, generator=gen).squeeze(-1)


@torch.no_grad()
def generate(family: Any, module: torch.nn.Module, jobs: list[Job], generator: torch.Generator) -> list[list[Generation]]:
    """Samples every job's n completions in one batch: prompts left-padded,
    one forward per new token for all rows, rows stopping at a stop token,
    a stop string, max_tokens or the end of the context."""
    rows: list[tuple[int, list[int]]] = [(j, job.prompt) for j, job in enumerate(jobs) for _ in range(job.n)]
    out = [[Generation() for _ in range(job.n)] for job in jobs]
    flat = [g for gs in out for g in gs]
    if not rows:
        return out
    gens = [torch.Generator().manual_seed(job.sampling.seed) if job.sampling.seed is not None else generator for job in jobs]
    dev = family.device
    R = len(rows)
    P = max(len(p) for _, p in rows)
    ids = torch.full((R, P), family.pad_id, dtype=torch.long)
    key_mask = torch.zeros((R, P + max(j.sampling.max_tokens for j in jobs)), dtype=torch.bool)
    pads = []
    for r, (_, p) in enumerate(rows):
        pad = P - len(p)
        ids[r, pad:] = torch.tensor(p)
        key_mask[r, pad:P] = True
        pads.append(pad)
    pad_t = torch.tensor(pads)
    positions = (torch.arange(P).expand(R, P) - pad_t.unsqueeze(-1)).clamp_min(0)
    key_mask = key_mask.to(dev)
    logits, cache = family.step(module, ids.to(dev), positions.to(dev), key_mask[:, :P], None)
    done = [job.sampling.max_tokens <= 0 for job, _ in ((jobs[j], p) for j, p in rows)]
    lengths = [len(p) for _, p in rows]
    texts = ["" for _ in rows]
    t = 0
    while not all(done):
        lp = torch.log_softmax(logits.double(), -1)
        probs = lp.exp()
        nxt = torch.full((R,), family.pad_id, dtype=torch.long)  # finished rows are fed padding
        for j, job in enumerate(jobs):
            rs = [r for r in range(R) if rows[r][0] == j and not done[r]]
            if rs:
                s = job.sampling
                nxt[rs] = _sample(probs[rs], s.temperature, s.top_p, gens[j]).to(torch.long)
        nxt_dev = nxt.to(dev)
        chosen = lp.gather(-1, nxt_dev.unsqueeze(-1)).squeeze(-1).cpu()
        for r in range(R):
            if done[r]:
                continue
            job = jobs[rows[r][0]]
            g = flat[r]
            tok = int(nxt[r])
            g.tokens.append(tok)
            g.logprobs.append(float(chosen[r]))
            lengths[r] += 1
            if tok in family.stop_ids:
                g.finish, done[r] = "stop", True
            elif job.sampling.stop:
                text = family.decode(g.tokens)
                for st in job.sampling.stop:
                    k = text.find(st) if st else -1
                    if k >= 0:
                        g.finish, g.stop_string, done[r] = "stop", st, True
                        texts[r] = text[:k]
                        break
            if not done[r] and (len(g.tokens) >= job.sampling.max_tokens or lengths[r] >= family.context):
                done[r] = True
        if all(done):
            break
        key_mask[:, P + t] = True
        pos = (P + t - pad_t).clamp_max(family.context - 1).unsqueeze(-1)
        logits, cache = family.step(module, nxt_dev.unsqueeze(-1), pos.to(dev), key_mask[:, : P + t + 1], cache)
        t += 1
    for r in range(R):
        g = flat[r]
        if g.stop_string is None:
            g.text = family.decode(g.tokens)
        else:
            g.text = texts[r]
    return out


class Batcher:
    """Runs generation requests on one worker thread: the requests waiting
    when the worker is free are sampled together, grouped by the weights
    snapshot each was bound to when it arrived."""

    def __init__(self, family: Any, generator: torch.Generator, max_rows: int = 256) -> None:
        self.family = family
        self.generator = generator
        self.max_rows = max_rows
        self.q: "queue.Queue[tuple[torch.nn.Module, list[Job], Future]]" = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="tabler1-generate", daemon=True)
        self.thread.start()

    def submit(self, module: torch.nn.Module, jobs: list[Job]) -> list[list[Generation]]:
        f: Future = Future()
        self.q.put((module, jobs, f))
        return f.result()

    def _run(self) -> None:
        while True:
            first = self.q.get()
            batch = [first]
            rows = sum(j.n for j in first[1])
            while rows < self.max_rows:
                try:
                    item = self.q.get_nowait()
                except queue.Empty:
                    break
                batch.append(item)
                rows += sum(j.n for j in item[1])
            groups: dict[int, list[tuple[torch.nn.Module, list[Job], Future]]] = {}
            for item in batch:
                groups.setdefault(id(item[0]), []).append(item)
            for items in groups.values():
                jobs = [j for _, js, _ in items for j in js]
                try:
                    res = generate(self.family, items[0][0], jobs, self.generator)
                except Exception as e:  # noqa: BLE001 - handed to the waiting request
                    for _, _, f in items:
                        f.set_exception(e)
                    continue
                k = 0
                for _, js, f in items:
                    f.set_result(res[k : k + len(js)])
                    k += len(js)
