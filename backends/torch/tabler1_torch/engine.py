"""The trainer engine: the remote backend protocol's methods
(docs/backend-protocol.md) over a model family, plus the weights that serve
rollouts. Each method takes the protocol's JSON request body and returns its
JSON answer, or raises EngineError with the HTTP status; the HTTP layer
(server.py) only moves bytes.

    engine = build_engine("/runs/ckpt", device="cpu", micro_batch_tokens=4096)
    engine.forward_backward({"batch": {...}, "loss": {...}})
    engine.optim_step({"optim": {"lr": 1e-6}})
    engine.publish({})
"""
from __future__ import annotations

import base64
import collections
import copy
import io
import json
import math
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional, Protocol

import torch

from . import embedded, st_io
from .loss import ConfigError, LossConfig, LossParts, agg_weights, token_loss

TRAINER_STATE_FILE = "trainer_state.json"
# Request ids remembered for idempotency: far more than the calls between
# two optimizer steps.
SEEN_LIMIT = 4096


class EngineError(Exception):
    """A refused or failed call: the HTTP status and what went wrong."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Family(Protocol):
    """What the engine needs of a model family (embedded.EmbeddedFamily,
    hf.HFFamily)."""

    kind: str
    name: str
    context: int
    stop_ids: frozenset[int]
    pad_id: int
    device: torch.device

    def encode_prompt(self, text: str) -> list[int]: ...
    def encode_completion(self, text: str) -> list[int]: ...
    def chat_prompt(self, messages: list[dict]) -> list[int]: ...
    def decode(self, ids: list[int]) -> str: ...
    def token_string(self, i: int) -> str: ...
    def hidden(self, module: torch.nn.Module, ids: torch.Tensor, key_mask: Optional[torch.Tensor]) -> torch.Tensor: ...
    def head(self, module: torch.nn.Module, h: torch.Tensor) -> torch.Tensor: ...
    def step(self, module: torch.nn.Module, ids: torch.Tensor, positions: torch.Tensor, key_mask: torch.Tensor, cache: object) -> tuple[torch.Tensor, object]: ...
    def decay(self, name: str, p: torch.Tensor) -> bool: ...


@dataclass
class Seq:
    prompt: list[int]
    completion: list[int]
    sampler: Optional[list[float]]
    advantage: float


def _field(d: dict, key: str, kind: type | tuple[type, ...], where: str, required: bool = True) -> Any:
    v = d.get(key)
    if v is None:
        if required:
            raise EngineError(400, f"{where}.{key} is required")
        return None
    if isinstance(v, bool) and kind is not bool or not isinstance(v, kind):
        raise EngineError(400, f"{where}.{key} has the wrong type ({type(v).__name__})")
    return v


class Engine:
    """Trains one policy (optionally against a frozen reference) and serves a
    published snapshot of it. Thread-safe: training calls serialise; serving
    reads the snapshot published last."""

    def __init__(
        self,
        family: Family,
        policy: torch.nn.Module,
        *,
        reference_source: Callable[[], torch.nn.Module],
        micro_batch_tokens: int = 8192,
        seed: int = 0,
        publish_to: Optional[list[str]] = None,
        publish_dir: Optional[str] = None,
        publish_timeout_s: float = 600.0,
        save_weights: Callable[[str, torch.nn.Module, Optional[torch.nn.Module]], None],
        load_weights: Callable[[str, torch.nn.Module], Optional[torch.nn.Module]],
        dist: Any = None,
    ) -> None:
        self.family = family
        self.policy = policy
        self._reference_source = reference_source
        self.reference: Optional[torch.nn.Module] = None
        self.micro_batch_tokens = max(1, micro_batch_tokens)
        self.publish_to = list(publish_to or [])
        self.publish_dir = publish_dir
        self.publish_timeout_s = publish_timeout_s
        self._publishers: Optional[list[Any]] = None
        self._save_weights = save_weights
        self._load_weights = load_weights
        self.dist = dist
        self.lock = threading.RLock()
        self.seen: collections.OrderedDict[str, dict] = collections.OrderedDict()
        self.step_count = 0
        self.version = 0
        self.pending = 0
        self.generator = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        self.opt = self._new_optimizer()
        self.served = self._snapshot()

    # --- helpers --------------------------------------------------------

    def _new_optimizer(self) -> torch.optim.AdamW:
        decay, no_decay = [], []
        for n, p in self.policy.named_parameters():
            if p.requires_grad:
                (decay if self.family.decay(n, p) else no_decay).append(p)
        return torch.optim.AdamW([{"params": decay}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-6)

    def _snapshot(self) -> torch.nn.Module:
        m = copy.deepcopy(self.policy)
        m.eval()
        for p in m.parameters():
            p.requires_grad_(False)
        return m

    def _ref(self) -> torch.nn.Module:
        """The frozen reference, built on first use (never when kl_loss_coef
        is 0)."""
        if self.reference is None:
            ref = self._reference_source()
            ref.eval()
            for p in ref.parameters():
                p.requires_grad_(False)
            self.reference = ref
        return self.reference

    def _idempotent(self, method: str, body: dict, fn: Callable[[dict], dict]) -> dict:
        if not isinstance(body, dict):
            raise EngineError(400, "the request body must be a JSON object")
        rid = body.get("request_id")
        with self.lock:
            if self.dist is not None and self.dist.is_main:
                self.dist.announce(method, body)
            if rid is not None and rid in self.seen:
                return self.seen[rid]
            out = fn(body)
            if rid is not None:
                self.seen[rid] = out
                while len(self.seen) > SEEN_LIMIT:
                    self.seen.popitem(last=False)
            return out

    def _sequences(self, body: dict, grpo: bool) -> list[Seq]:
        batch = _field(body, "batch", dict, "body")
        seqs = _field(batch, "sequences", list, "batch")
        if not seqs:
            raise EngineError(400, "batch.sequences is empty")
        out = []
        for i, s in enumerate(seqs):
            where = f"batch.sequences[{i}]"
            if not isinstance(s, dict):
                raise EngineError(400, f"{where} must be an object")
            pt, ct = s.get("prompt_tokens"), s.get("completion_tokens")
            if pt and ct:
                prompt, comp = list(pt), list(ct)
            elif grpo:
                raise EngineError(400, f"{where}.completion_tokens: GRPO needs the sampler's token ids (prompt_tokens and completion_tokens)")
            else:
                prompt = self.family.encode_prompt(str(s.get("prompt", "")))
                comp = self.family.encode_completion(str(s.get("completion", "")))
            for name, ids in (("prompt_tokens", prompt), ("completion_tokens", comp)):
                if any(not isinstance(t, int) or isinstance(t, bool) or t < 0 for t in ids):
                    raise EngineError(400, f"{where}.{name} must be non-negative integers")
            if not prompt or not comp:
                raise EngineError(400, f"{where}: empty prompt or completion")
            if len(prompt) + len(comp) > self.family.context:
                raise EngineError(400, f"{where}: {len(prompt)}+{len(comp)} tokens exceed the model's context of {self.family.context}")
            sampler = s.get("sampler_logprobs")
            if grpo:
                if not isinstance(sampler, list) or len(sampler) != len(comp):
                    n = len(sampler) if isinstance(sampler, list) else 0
                    raise EngineError(400, f"{where}.sampler_logprobs: {n} values for {len(comp)} completion tokens (GRPO needs one per token)")
                if not all(isinstance(x, (int, float)) and math.isfinite(x) for x in sampler):
                    raise EngineError(400, f"{where}.sampler_logprobs must be finite numbers")
            adv = s.get("advantage", 0.0)
            if isinstance(adv, bool) or not isinstance(adv, (int, float)) or not math.isfinite(adv):
                raise EngineError(400, f"{where}.advantage must be a finite number")
            out.append(Seq(prompt, comp, [float(x) for x in sampler] if grpo else None, float(adv)))
        return out

    def _micro_batches(self, idx: list[int], seqs: list[Seq]) -> list[list[int]]:
        """Length-sorted buckets whose padded size stays within the token
        budget (one sequence per bucket at least)."""
        order = sorted(idx, key=lambda i: len(seqs[i].prompt) + len(seqs[i].completion))
        out: list[list[int]] = []
        cur: list[int] = []
        for i in order:
            n = len(seqs[i].prompt) + len(seqs[i].completion)
            if cur and n * (len(cur) + 1) > self.micro_batch_tokens:
                out.append(cur)
                cur = []
            cur.append(i)
        if cur:
            out.append(cur)
        return out

    def completion_logprobs(self, module: torch.nn.Module, seqs: list[Seq]) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities of each sequence's completion tokens, padded to
        [B, Cmax] (with autograd through module), and the 0/1 mask."""
        dev = self.family.device
        B = len(seqs)
        plens = torch.tensor([len(s.prompt) for s in seqs])
        clens = torch.tensor([len(s.completion) for s in seqs])
        lens = plens + clens
        T, C = int(lens.max()), int(clens.max())
        # Index tensors built with vectorised ops (no per-token Python loop):
        # completion token k of row b is predicted at position p_b - 1 + k.
        rows = torch.repeat_interleave(torch.arange(B), clens)
        cols = torch.arange(int(clens.sum())) - torch.repeat_interleave(torch.cumsum(clens, 0) - clens, clens)
        flat = rows * T + plens[rows] - 1 + cols
        targets = torch.tensor([t for s in seqs for t in s.completion], dtype=torch.long)
        ids = torch.full((B, T), self.family.pad_id, dtype=torch.long)
        for b, s in enumerate(seqs):
            ids[b, : len(s.prompt) + len(s.completion)] = torch.tensor(s.prompt + s.completion)
        # Right padding: with every row full there is nothing to mask, and no
        # mask is the same attention as an all-true one (SDPA then takes its
        # causal fast path without inspecting a mask).
        key_mask = None if bool((lens == T).all()) else torch.arange(T)[None, :] < lens[:, None]
        ids, rows, cols, flat, targets = _to_device((ids, rows, cols, flat, targets), dev)
        if key_mask is not None:
            (key_mask,) = _to_device((key_mask,), dev)
        h = self.family.hidden(module, ids, key_mask)
        h = h.reshape(-1, h.shape[-1])[flat]
        lp = token_logprobs(self.family.head(module, h), targets)
        out = torch.zeros((B, C), dtype=lp.dtype, device=dev).index_put((rows, cols), lp)
        mask = torch.zeros((B, C), dtype=lp.dtype, device=dev).index_put((rows, cols), torch.ones_like(lp))
        return out, mask

    def _local_indices(self, n: int) -> list[int]:
        if self.dist is None:
            return list(range(n))
        return self.dist.share(n)

    def _reduce_parts(self, parts: LossParts) -> LossParts:
        if self.dist is None:
            return parts
        return self.dist.reduce_parts(parts)

    # --- protocol -------------------------------------------------------

    def forward_backward(self, body: dict) -> dict:
        return self._idempotent("forward_backward", body, self._forward_backward)

    def _forward_backward(self, body: dict) -> dict:
        if body.get("loss") is None:
            raise EngineError(400, "loss is required for forward_backward")
        try:
            cfg = LossConfig.from_json(body.get("loss"))
        except ConfigError as e:
            raise EngineError(400, str(e)) from None
        seqs = self._sequences(body, grpo=True)
        use_ref = cfg.kl_loss_coef > 0
        ref = self._ref() if use_ref else None
        dt = torch.float64 if self._param_dtype() == torch.float64 else torch.float32
        mask_sums = torch.tensor([float(len(s.completion)) for s in seqs], dtype=dt)
        agg = agg_weights(cfg, mask_sums, mask_sums.clone())
        self.policy.train()
        total: Optional[LossParts] = None
        prompt_tokens = 0
        for mb in self._micro_batches(self._local_indices(len(seqs)), seqs):
            ms = [seqs[i] for i in mb]
            logp, mask = self.completion_logprobs(self.policy, ms)
            logp, mask = logp.to(dt), mask.to(dt)
            # Built on the host and moved in one copy, not a copy per row.
            sampler = torch.zeros(logp.shape, dtype=dt)
            for b, s in enumerate(ms):
                sampler[b, : len(s.completion)] = torch.tensor(s.sampler, dtype=dt)
            (sampler,) = _to_device((sampler,), logp.device)
            ref_lp = None
            if ref is not None:
                with torch.no_grad():
                    ref_lp, _ = self.completion_logprobs(ref, ms)
                    ref_lp = ref_lp.to(dt)
            adv = torch.tensor([s.advantage for s in ms], dtype=dt, device=logp.device)
            # The ratio is taken to the sampler's log-probs (pi_old: the
            # weights that sampled, one update per batch), as the embedded
            # trainer does; the IS weight is then 1 by construction.
            parts = token_loss(cfg, logp, sampler, sampler, ref_lp, mask, adv, agg[mb].to(logp.device))
            parts.loss.backward()
            parts.loss = parts.loss.detach()
            if total is None:
                total = parts
            else:
                total += parts
            prompt_tokens += sum(len(s.prompt) for s in ms)
        if total is None:
            total = LossParts(torch.zeros(()), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        total = self._reduce_parts(total)
        if self.dist is not None:
            (prompt_tokens,) = self.dist.sum_floats([float(prompt_tokens)])
        self.pending += 1
        n = max(total.tokens, 1e-300)
        return {
            "loss": float(total.loss),
            "kl": total.kl_sum / n if use_ref else 0.0,
            "clip_fraction": total.clipped / n,
            "entropy": total.entropy_sum / n,
            "tokens": int(round(total.tokens)) + int(prompt_tokens),
        }

    def sft_forward_backward(self, body: dict) -> dict:
        return self._idempotent("sft_forward_backward", body, self._sft)

    def _sft(self, body: dict) -> dict:
        seqs = self._sequences(body, grpo=False)
        total_tokens = float(sum(len(s.completion) for s in seqs))
        self.policy.train()
        loss_sum, prompt_tokens = 0.0, 0
        for mb in self._micro_batches(self._local_indices(len(seqs)), seqs):
            ms = [seqs[i] for i in mb]
            logp, mask = self.completion_logprobs(self.policy, ms)
            loss = -(logp * mask).sum() / total_tokens
            loss.backward()
            loss_sum += float(loss.detach())
            prompt_tokens += sum(len(s.prompt) for s in ms)
        if self.dist is not None:
            loss_sum, prompt_tokens = self.dist.sum_floats([loss_sum, float(prompt_tokens)])
        self.pending += 1
        return {"loss": loss_sum, "kl": 0.0, "clip_fraction": 0.0, "entropy": 0.0, "tokens": int(total_tokens) + int(prompt_tokens)}

    def optim_step(self, body: dict) -> dict:
        return self._idempotent("optim_step", body, self._optim_step)

    def _optim_step(self, body: dict) -> dict:
        o = _field(body, "optim", dict, "body")
        lr = _field(o, "lr", (int, float), "optim")
        if not (lr > 0 and math.isfinite(lr)):
            raise EngineError(400, f"optim.lr = {lr}: want a positive number")
        def num(key: str, default: float) -> float:
            v = _field(o, key, (int, float), "optim", required=False)
            return default if v is None else float(v)

        # eps 0 takes the default, as the embedded trainer does.
        b1, b2, eps = num("beta1", 0.9), num("beta2", 0.999), num("eps", 0.0) or 1e-8
        wd, clip = num("weight_decay", 0.0), num("grad_clip", 0.0)
        if not (0 <= b1 < 1 and 0 <= b2 < 1) or eps < 0 or wd < 0 or clip < 0:
            raise EngineError(400, "optim: beta1 and beta2 must be in [0, 1); eps, weight_decay and grad_clip >= 0")
        if self.pending == 0:
            raise EngineError(409, "optim_step without a forward_backward since the last step: no gradient accumulated")
        params = [p for p in self.policy.parameters() if p.requires_grad]
        if self.dist is not None:
            self.dist.all_reduce_grads(params)
        sq = torch.zeros((), dtype=torch.float64)
        for p in params:
            if p.grad is not None:
                sq += p.grad.detach().double().pow(2).sum().cpu()
        norm = math.sqrt(float(sq))
        if not math.isfinite(norm):
            self.opt.zero_grad(set_to_none=True)
            self.pending = 0
            raise EngineError(422, f"optimizer step {self.step_count}: gradient norm is {norm}; step skipped, gradients dropped")
        if clip > 0 and norm > clip:
            for p in params:
                if p.grad is not None:
                    p.grad.mul_(clip / norm)
        for g in self.opt.param_groups:
            g["lr"], g["betas"], g["eps"] = float(lr), (b1, b2), eps
        self.opt.param_groups[0]["weight_decay"] = wd
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        self.pending = 0
        self.step_count += 1
        return {"grad_norm": norm, "lr": float(lr)}

    def publish(self, body: dict) -> dict:
        return self._idempotent("publish", body, self._publish)

    def _publish(self, body: dict) -> dict:
        # The snapshot is built first and swapped in one assignment: a
        # request issued before this returns was bound to the old snapshot
        # when it arrived, one issued after sees the new one.
        snap = self._snapshot()
        self.version += 1
        self.served = snap
        if self.publish_to:
            self._publish_fleet(self.version)
        return {"version": self.version}

    def _publish_fleet(self, version: int) -> None:
        if self.dist is not None and not self.dist.is_main:
            return
        if self._publishers is None:
            from .publish import build_publishers  # only when targets are configured

            self._publishers = list(zip(self.publish_to, build_publishers(self.publish_to, self.publish_timeout_s)))
        if not self.publish_dir:
            raise EngineError(500, "publish: --publish-dir is required with --publish-to")
        wdir = os.path.join(self.publish_dir, f"v{version}")
        lora = bool(getattr(self.family, "lora", False))
        export = getattr(self.family, "export", None)
        if export is not None:
            export(wdir, self.served)
        else:
            self._save_weights(wdir, self.served, None)
        for target, pub in self._publishers:
            try:
                pub.publish(version=version, weights_dir=wdir, lora=lora)
            except Exception as e:  # noqa: BLE001 - any publisher failure is the answer
                raise EngineError(502, f"publish version {version} to {target} failed: {e}") from None

    def save(self, body: dict) -> dict:
        return self._idempotent("save", body, self._save)

    def _save(self, body: dict) -> dict:
        d = _field(body, "dir", str, "body")
        if not os.path.isabs(d):
            raise EngineError(400, f"dir {d!r} must be an absolute path")
        if self.dist is not None and not self.dist.is_main:
            return {}  # parameters and optimizer state are replicated: rank 0 writes
        try:
            os.makedirs(d, exist_ok=True)
            ref = self.reference
            if ref is None and self.family.kind == embedded.EmbeddedFamily.kind:
                ref = self._ref()  # the Go layout keeps the reference with the checkpoint
            self._save_weights(d, self.policy, ref)
            self._save_optimizer(d)
            state = {
                "step": self.step_count,
                "version": self.version,
                "torch_rng": base64.b64encode(torch.get_rng_state().numpy().tobytes()).decode(),
                "sampler_rng": base64.b64encode(self.generator.get_state().numpy().tobytes()).decode(),
            }
            _write_json(os.path.join(d, TRAINER_STATE_FILE), state)
        except OSError as e:
            raise EngineError(500, f"save to {d}: {e}") from None
        return {}

    def _names(self) -> list[tuple[str, torch.nn.Parameter]]:
        return [(n, p) for n, p in self.policy.named_parameters() if p.requires_grad]

    def _save_optimizer(self, d: str) -> None:
        # The Go layout is F64; a large model's moments are kept in F32.
        dt = torch.float64 if self.family.kind == embedded.EmbeddedFamily.kind else torch.float32
        ts: dict[str, torch.Tensor] = {}
        for n, p in self._names():
            st = self.opt.state.get(p, {})
            ts["exp_avg." + n] = (st["exp_avg"] if "exp_avg" in st else torch.zeros_like(p)).detach().to(dt)
            ts["exp_avg_sq." + n] = (st["exp_avg_sq"] if "exp_avg_sq" in st else torch.zeros_like(p)).detach().to(dt)
        st_io.save(os.path.join(d, embedded.OPTIMIZER_FILE), ts, {"step": str(self.step_count)})

    def load(self, body: dict) -> dict:
        return self._idempotent("load", body, self._load)

    def _load(self, body: dict) -> dict:
        d = _field(body, "dir", str, "body")
        if not os.path.isdir(d):
            raise EngineError(404, f"load: {d} is not a directory")
        try:
            ref = self._load_weights(d, self.policy)
        except (OSError, ValueError) as e:
            raise EngineError(422, f"load from {d}: {e}") from None
        if ref is not None:
            self.reference = ref
        self.opt = self._new_optimizer()
        self.opt.zero_grad(set_to_none=True)
        self.pending = 0
        step = 0
        opt_path = os.path.join(d, embedded.OPTIMIZER_FILE)
        if os.path.exists(opt_path):
            ts, meta = st_io.load(opt_path)
            step = int(meta.get("step", "0"))
            for n, p in self._names():
                if "exp_avg." + n in ts and step > 0:
                    self.opt.state[p] = {
                        "step": torch.tensor(float(step)),
                        "exp_avg": ts["exp_avg." + n].to(device=p.device, dtype=p.dtype).reshape(p.shape).clone(),
                        "exp_avg_sq": ts["exp_avg_sq." + n].to(device=p.device, dtype=p.dtype).reshape(p.shape).clone(),
                    }
        self.step_count = step
        sp = os.path.join(d, TRAINER_STATE_FILE)
        if os.path.exists(sp):
            with open(sp) as f:
                state = json.load(f)
            self.version = int(state.get("version", self.version))
            torch.set_rng_state(torch.frombuffer(bytearray(base64.b64decode(state["torch_rng"])), dtype=torch.uint8))
            self.generator.set_state(torch.frombuffer(bytearray(base64.b64decode(state["sampler_rng"])), dtype=torch.uint8))
        return self._publish({})

    def health(self) -> dict:
        return {"status": "ok", "model": self.family.name, "step": self.step_count, "version": self.version}

    def _param_dtype(self) -> torch.dtype:
        return next(self.policy.parameters()).dtype


def _to_device(ts: tuple[torch.Tensor, ...], dev: torch.device) -> tuple[torch.Tensor, ...]:
    """Host tensors moved to dev; to a GPU through pinned memory without
    waiting for the copies (stream order keeps them before their use)."""
    if dev.type != "cuda":
        return tuple(t.to(dev) for t in ts)
    return tuple(t.pin_memory().to(dev, non_blocking=True) for t in ts)


# Rows of logits converted to float32 at a time: about 1 GiB of float32.
LOGPROB_CHUNK_ELEMENTS = 1 << 28


class _TokenLogprobs(torch.autograd.Function):
    """log_softmax(logits)[target] per row in float32 (float64 logits stay
    float64), over chunks of rows, so no float32 [tokens, vocab] matrix
    exists whole. log_softmax and softmax with dtype= read half-precision
    logits and write float32 in one kernel on CUDA. The backward,
    g x (onehot - softmax), is recomputed per chunk from the saved logits
    and written straight into the gradient's dtype (one rounding per
    element, as the float32 log_softmax's backward then cast had)."""

    @staticmethod
    def forward(ctx: Any, logits: torch.Tensor, target: torch.Tensor, chunk: int) -> torch.Tensor:  # type: ignore[override]
        acc = torch.float32 if logits.dtype in (torch.bfloat16, torch.float16) else logits.dtype
        n = logits.shape[0]
        out = torch.empty(n, dtype=acc, device=logits.device)
        for i in range(0, n, chunk):
            lsm = torch.log_softmax(logits[i : i + chunk], -1, dtype=acc)
            out[i : i + chunk] = lsm.gather(-1, target[i : i + chunk, None]).squeeze(-1)
        ctx.save_for_backward(logits, target)
        ctx.chunk, ctx.acc = chunk, acc
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, None, None]:  # type: ignore[override]
        logits, target = ctx.saved_tensors
        grad = torch.empty_like(logits)
        for i in range(0, logits.shape[0], ctx.chunk):
            sl = slice(i, i + ctx.chunk)
            gi = g[sl, None].to(ctx.acc)
            t = target[sl, None]
            p = torch.softmax(logits[sl], -1, dtype=ctx.acc)
            pt = p.gather(-1, t)
            torch.mul(p, -gi, out=grad[sl])
            grad[sl].scatter_(-1, t, ((1 - pt) * gi).to(grad.dtype))
        return grad, None, None


def token_logprobs(logits: torch.Tensor, target: torch.Tensor, chunk_elements: int = LOGPROB_CHUNK_ELEMENTS) -> torch.Tensor:
    """log_softmax(logits, -1)[i, target[i]] for each row i of [N, V] logits,
    in float32 at least, differentiable in logits (see _TokenLogprobs)."""
    return _TokenLogprobs.apply(logits, target, max(1, chunk_elements // max(1, logits.shape[-1])))


def _write_json(path: str, v: Any) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(v, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _dtype(dtype: str, device: torch.device, default_cpu: torch.dtype) -> torch.dtype:
    if dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else default_cpu
    try:
        return {"float64": torch.float64, "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
    except KeyError:
        raise ValueError(f"dtype {dtype!r}: want auto, float64, float32, bfloat16 or float16") from None


def build_engine(model: str, *, device: str = "auto", dtype: str = "auto", **options: Any) -> Engine:
    """Builds the engine for model: a tabler1 embedded checkpoint directory,
    ``embedded:CONFIG.json`` (a fresh embedded model: the JSON of
    model.Config, initialised from options["seed"]), or a Hugging Face model
    directory or id (transformers).

    Options: micro_batch_tokens (8192), gradient_checkpointing (False),
    attn_implementation ("sdpa"), lora_rank (0: full fine-tuning), seed (0),
    name (the served model id), publish_to (["KIND=URL", ...]), publish_dir,
    publish_timeout_s, dist (a dist.Group under torchrun)."""
    dev = _device(device)
    seed = int(options.pop("seed", 0))
    name = options.pop("name", None)
    common = {k: options.pop(k) for k in ("micro_batch_tokens", "publish_to", "publish_dir", "publish_timeout_s", "dist") if k in options}
    if model.startswith("embedded:") or embedded.is_checkpoint(model):
        for k in ("gradient_checkpointing", "attn_implementation"):
            options.pop(k, None)
        if options.pop("lora_rank", 0):
            raise ValueError("lora_rank: LoRA is for Hugging Face models; the embedded family trains all weights")
        if options:
            raise ValueError(f"unknown options {sorted(options)}")
        return _build_embedded(model, dev, _dtype(dtype, dev, torch.float32), seed, name, common)
    from . import hf  # transformers only for Hugging Face models

    return hf.build(model, dev, _dtype(dtype, dev, torch.float32), seed, name, common, options)


def _build_embedded(model: str, dev: torch.device, dt: torch.dtype, seed: int, name: Optional[str], common: dict) -> Engine:
    torch.manual_seed(seed)
    if model.startswith("embedded:"):
        spec = model[len("embedded:") :]
        with open(spec) as f:
            raw = json.load(f)
        cfg = embedded.Config.from_json(raw)
        fam = embedded.EmbeddedFamily(cfg, name or "tabler1-tiny", dev, dt)
        policy = fam.new_module()
        policy.init_weights(seed)
        init = {k: v.detach().clone() for k, v in policy.state_dict().items()}

        def ref_source() -> torch.nn.Module:
            m = fam.new_module()
            m.load_state_dict(init)
            return m
    else:
        cfg = embedded.read_config(model)
        fam = embedded.EmbeddedFamily(cfg, name or os.path.basename(os.path.normpath(model)), dev, dt)
        policy = fam.new_module()
        embedded.load_weights(policy, os.path.join(model, embedded.WEIGHTS_FILE))
        ref_file = os.path.join(model, embedded.REFERENCE_FILE)
        src = ref_file if os.path.exists(ref_file) else os.path.join(model, embedded.WEIGHTS_FILE)

        def ref_source() -> torch.nn.Module:
            m = fam.new_module()
            embedded.load_weights(m, src)
            return m

    def save_weights(d: str, module: torch.nn.Module, ref: Optional[torch.nn.Module]) -> None:
        os.makedirs(d, exist_ok=True)
        embedded.write_config(d, fam.config)
        st_io.save(os.path.join(d, embedded.WEIGHTS_FILE), embedded.weights(module), {"format": "tabler1"})
        if ref is not None:
            st_io.save(os.path.join(d, embedded.REFERENCE_FILE), embedded.weights(ref))

    def load_weights(d: str, module: torch.nn.Module) -> Optional[torch.nn.Module]:
        if embedded.read_config(d) != fam.config:
            raise ValueError(f"{d}/config.json describes another architecture than the served model")
        embedded.load_weights(module, os.path.join(d, embedded.WEIGHTS_FILE))
        rf = os.path.join(d, embedded.REFERENCE_FILE)
        if not os.path.exists(rf):
            return None
        ref = fam.new_module()
        embedded.load_weights(ref, rf)
        return ref

    return Engine(fam, policy, reference_source=ref_source, seed=seed, save_weights=save_weights, load_weights=load_weights, **common)
