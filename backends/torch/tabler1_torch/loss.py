"""grpo.Loss (grpo/loss.go) in PyTorch: the GRPO policy loss with verl's
names and semantics.

The batch is padded to [B, T]; padding has mask 0. Aggregation weights are
computed once for the whole batch (``agg_weights``), so a batch split into
micro-batches or across ranks sums to the loss and gradient of the whole:
``token_loss`` returns each micro-batch's share.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import torch

TOKEN_MEAN = "token-mean"
SEQ_MEAN_TOKEN_SUM = "seq-mean-token-sum"
SEQ_MEAN_TOKEN_MEAN = "seq-mean-token-mean"
SEQ_MEAN_TOKEN_SUM_NORM = "seq-mean-token-sum-norm"
AGG_MODES = (TOKEN_MEAN, SEQ_MEAN_TOKEN_SUM, SEQ_MEAN_TOKEN_MEAN, SEQ_MEAN_TOKEN_SUM_NORM)
IS_MODES = ("token_truncate", "token_mask", "sequence_truncate", "sequence_mask")
_KL_ALIASES = {"": "k3", "k3": "k3", "low_var_kl": "k3", "k1": "k1", "kl": "k1", "k2": "k2", "mse": "k2"}

K3_CLAMP = 10.0
LOG_RATIO_CLAMP = 20.0


class ConfigError(ValueError):
    """A loss configuration the trainer refuses; ``field`` names the key."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"loss.{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class LossConfig:
    """grpo.LossConfig: the JSON keys of the protocol's ``loss`` object."""

    clip_ratio_low: float = 0.0
    clip_ratio_high: float = 0.0
    clip_ratio_c: float = 0.0
    loss_agg_mode: str = ""
    loss_scale_factor: float = 0.0
    kl_loss_type: str = ""
    kl_loss_coef: float = 0.0
    rollout_is_threshold: float = 0.0
    rollout_is_mode: str = ""

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> "LossConfig":
        """Parses and validates the protocol's ``loss`` object; an unknown
        key or an unimplemented mode raises ConfigError naming it."""
        if d is None:
            d = {}
        if not isinstance(d, dict):
            raise ConfigError("", "must be a JSON object")
        known = {f.name: f for f in fields(cls)}
        kw: dict[str, Any] = {}
        for k, v in d.items():
            f = known.get(k)
            if f is None:
                raise ConfigError(k, "unknown key; this trainer implements " + ", ".join(known))
            if f.type == "str":
                if not isinstance(v, str):
                    raise ConfigError(k, f"must be a string, got {v!r}")
            else:
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise ConfigError(k, f"must be a number, got {v!r}")
                v = float(v)
            kw[k] = v
        c = cls(**kw)
        c.validate()
        return c

    def validate(self) -> None:
        for name in ("clip_ratio_low", "clip_ratio_high", "clip_ratio_c", "loss_scale_factor", "kl_loss_coef", "rollout_is_threshold"):
            v = getattr(self, name)
            if not math.isfinite(v) or v < 0:
                raise ConfigError(name, f"= {v}: must be a finite number >= 0")
        if self.clip_ratio_low >= 1:
            raise ConfigError("clip_ratio_low", f"= {self.clip_ratio_low}: must be < 1")
        if self.clip_ratio_c != 0 and self.clip_ratio_c <= 1:
            raise ConfigError("clip_ratio_c", f"= {self.clip_ratio_c}: must be > 1 (or 0 to disable dual clip)")
        if self.loss_agg_mode not in ("",) + AGG_MODES:
            raise ConfigError("loss_agg_mode", f"{self.loss_agg_mode!r} is not implemented: use " + ", ".join(AGG_MODES))
        self.kl_kind()
        if self.rollout_is_mode not in ("",) + IS_MODES:
            raise ConfigError("rollout_is_mode", f"{self.rollout_is_mode!r} is not implemented: use " + ", ".join(IS_MODES))

    def kl_kind(self) -> tuple[str, bool]:
        """The estimator (k1, k2, k3) and whether the gradient is the
        straight-through one (a ``+`` suffix: k2's gradient l - l_ref)."""
        s = self.kl_loss_type
        straight = s.endswith("+")
        base = s[:-1] if straight else s
        if base not in _KL_ALIASES or (straight and base == ""):
            raise ConfigError("kl_loss_type", f"{s!r} is not implemented: use k1 (kl), k2 (mse) or k3 (low_var_kl), each with an optional + (k3+)")
        return _KL_ALIASES[base], straight

    def clip_bounds(self) -> tuple[float, float]:
        return (self.clip_ratio_low or 0.2, self.clip_ratio_high or 0.2)


def is_weights(cfg: LossConfig, old: torch.Tensor, sampler: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """grpo.ISWeights over a padded [B, T] batch: each token's importance
    weight against the sampler (a constant) and whether the cap was in force."""
    with torch.no_grad():
        if cfg.rollout_is_threshold <= 0:
            return torch.ones_like(old), torch.zeros_like(old, dtype=torch.bool)
        log_cap = math.log(cfg.rollout_is_threshold)
        mask_out = cfg.rollout_is_mode in ("token_mask", "sequence_mask")
        d = old - sampler
        if cfg.rollout_is_mode in ("sequence_truncate", "sequence_mask"):
            d = (mask * d).sum(-1, keepdim=True).expand_as(old)
        capped = d > log_cap
        over = torch.zeros_like(d) if mask_out else torch.full_like(d, cfg.rollout_is_threshold)
        return torch.where(capped, over, torch.exp(torch.where(capped, torch.zeros_like(d), d))), capped


def agg_weights(cfg: LossConfig, mask_sums: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Each sequence's factor a_i in Agg (loss = sum_i a_i sum_t m_it x_it),
    over the whole batch: mask_sums and lengths are per sequence."""
    n = mask_sums.numel()
    total = mask_sums.sum()
    mode = cfg.loss_agg_mode or TOKEN_MEAN
    if total <= 0:
        return torch.zeros_like(mask_sums)
    if mode == SEQ_MEAN_TOKEN_SUM:
        return torch.full_like(mask_sums, 1.0 / n)
    if mode == SEQ_MEAN_TOKEN_MEAN:
        non_empty = (mask_sums > 0).sum()
        return torch.where(mask_sums > 0, 1.0 / (mask_sums.clamp_min(1e-300) * non_empty), torch.zeros_like(mask_sums))
    if mode == SEQ_MEAN_TOKEN_SUM_NORM:
        norm = cfg.loss_scale_factor or float(lengths.max())
        return torch.full_like(mask_sums, 1.0 / norm)
    return torch.full_like(mask_sums, 1.0) / total


def _kl(kind: str, straight: bool, logp: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Per-token KL estimate whose autograd derivative is grpo's dkl/dl."""
    diff = logp - ref
    half_sq = 0.5 * diff * diff
    if kind == "k1":
        kl = diff
    elif kind == "k2":
        kl = half_sq
    else:
        d = ref - logp
        raw = torch.expm1(d) - d
        # Floored at 0 against rounding (value only), clamped at 10 (value
        # and gradient), as verl.
        kl = raw + (raw.clamp_min(0) - raw).detach()
        kl = torch.where(raw.detach() > K3_CLAMP, torch.full_like(raw, K3_CLAMP), kl)
    if straight:
        kl = kl.detach() + (half_sq - half_sq.detach())
    return kl


@dataclass
class LossParts:
    """A micro-batch's share of the loss and of the sums behind its stats
    (all mask-weighted sums over tokens; divide by ``tokens``)."""

    loss: torch.Tensor
    pg_loss: float
    kl_loss: float
    tokens: float
    clipped: float
    kl_sum: float
    entropy_sum: float
    ratio_sum: float

    def __iadd__(self, o: "LossParts") -> "LossParts":
        self.loss = self.loss + o.loss
        for f in ("pg_loss", "kl_loss", "tokens", "clipped", "kl_sum", "entropy_sum", "ratio_sum"):
            setattr(self, f, getattr(self, f) + getattr(o, f))
        return self


def token_loss(
    cfg: LossConfig,
    logp: torch.Tensor,
    old: torch.Tensor | None,
    sampler: torch.Tensor | None,
    ref: torch.Tensor | None,
    mask: torch.Tensor,
    adv: torch.Tensor,
    agg: torch.Tensor,
) -> LossParts:
    """grpo.Loss's formula for padded [B, T] tensors (adv and agg are [B]).
    old None is on-policy (the current log-probs with their gradient
    stopped); sampler is needed when rollout_is_threshold > 0, ref when
    kl_loss_coef > 0."""
    lo, hi = cfg.clip_bounds()
    if old is None:
        old = logp.detach()
    A = adv.unsqueeze(-1).to(logp.dtype)
    rho = torch.exp((logp - old).clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP))
    pg1 = -A * rho
    pg2 = (-A * rho.detach().clamp(1 - lo, 1 + hi)).detach()
    use2 = pg2 > pg1.detach()
    pg = torch.where(use2, pg2, pg1)
    clipped = use2
    if cfg.clip_ratio_c > 0:
        bound = (-A * cfg.clip_ratio_c).expand_as(pg)
        dual = (A < 0) & (bound < pg.detach())
        pg = torch.where(dual, bound, pg)
        clipped = clipped | dual
    if cfg.rollout_is_threshold > 0:
        if sampler is None:
            raise ConfigError("rollout_is_threshold", "needs the sampler's log-probs of every token")
        w, _ = is_weights(cfg, old.detach(), sampler, mask)
    else:
        w = torch.ones_like(pg)
    weight = agg.unsqueeze(-1).to(logp.dtype) * mask
    pg_loss = (weight * w * pg).sum()
    loss = pg_loss
    kl_loss = torch.zeros((), dtype=logp.dtype)
    kl_sum = 0.0
    if ref is not None:
        kind, straight = cfg.kl_kind()
        kl = _kl(kind, straight, logp, ref)
        kl_sum = float((mask * kl.detach()).sum())
        if cfg.kl_loss_coef > 0:
            kl_loss = (weight * kl).sum()
            loss = loss + cfg.kl_loss_coef * kl_loss
    elif cfg.kl_loss_coef > 0:
        raise ConfigError("kl_loss_coef", "needs the reference policy's log-probs")
    return LossParts(
        loss=loss,
        pg_loss=float(pg_loss.detach()),
        kl_loss=float(kl_loss.detach()),
        tokens=float(mask.sum()),
        clipped=float((mask * clipped).sum()),
        kl_sum=kl_sum,
        entropy_sum=float((mask * -logp.detach()).sum()),
        ratio_sum=float((mask * rho.detach()).sum()),
    )
