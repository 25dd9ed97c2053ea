"""tabler1's embedded transformer (package model) in plain PyTorch: the same
architecture, byte-level tokenizer, chat template and checkpoint layout
(model/checkpoint.go), so the Go side and this trainer read each other's
checkpoints.

Architecture: pre-norm decoder, learned positions, RMSNorm, GELU (tanh) MLP,
output head tied to the token embedding. Module names equal the checkpoint's
tensor names (``layers.L.attn.qkv.weight`` ...), so state dicts load as they
are.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from typing import Optional

import torch
import torch.nn.functional as F

from . import st_io

BOS, EOS, PAD, IM_START, IM_END = 256, 257, 258, 259, 260
VOCAB_SIZE = 261
SPECIAL_NAMES = ("<|bos|>", "<|eos|>", "<|pad|>", "<|im_start|>", "<|im_end|>")

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
REFERENCE_FILE = "reference.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"


@dataclass(frozen=True)
class Config:
    """model.Config; the JSON keys of config.json."""

    layers: int = 2
    width: int = 64
    heads: int = 4
    mlp: int = 0
    context: int = 1024
    vocab: int = VOCAB_SIZE
    norm_eps: float = 0.0
    init_std: float = 0.0

    @classmethod
    def from_json(cls, d: dict) -> "Config":
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"embedded model config: unknown keys {sorted(unknown)}")
        c = cls(**d).with_defaults()
        c.validate()
        return c

    def with_defaults(self) -> "Config":
        return Config(
            layers=self.layers, width=self.width, heads=self.heads, mlp=self.mlp or 4 * self.width,
            context=self.context, vocab=self.vocab or VOCAB_SIZE, norm_eps=self.norm_eps or 1e-5,
            init_std=self.init_std or 0.02,
        )

    def validate(self) -> None:
        if not 1 <= self.layers <= 64:
            raise ValueError(f"embedded model config: layers = {self.layers}, want 1..64")
        if self.heads < 1 or self.width < 1 or self.width % self.heads:
            raise ValueError(f"embedded model config: heads = {self.heads} must be >= 1 and divide width {self.width}")
        if not 2 <= self.context <= 65536:
            raise ValueError(f"embedded model config: context = {self.context}, want 2..65536")
        if self.vocab != VOCAB_SIZE:
            raise ValueError(f"embedded model config: vocab = {self.vocab}, but the byte-level tokenizer has {VOCAB_SIZE} tokens")

    def to_json(self) -> dict:
        return asdict(self)


# --- tokenizer (model/tokenizer.go) ---------------------------------------

def encode(text: str) -> list[int]:
    """Byte-level ids; special-token spellings become special ids."""
    b = text.encode("utf-8")
    ids: list[int] = []
    i = 0
    while i < len(b):
        if b[i] == ord("<") and b[i + 1 : i + 2] == b"|":
            for k, name in enumerate(SPECIAL_NAMES):
                nb = name.encode()
                if b.startswith(nb, i):
                    ids.append(256 + k)
                    i += len(nb)
                    break
            else:
                ids.append(b[i])
                i += 1
            continue
        ids.append(b[i])
        i += 1
    return ids


def decode(ids: list[int], skip_special: bool = True) -> str:
    out = bytearray()
    for i in ids:
        if 0 <= i < 256:
            out.append(i)
        elif 256 <= i < VOCAB_SIZE:
            if not skip_special:
                out += SPECIAL_NAMES[i - 256].encode()
        else:
            raise ValueError(f"decode: token {i} is outside the vocabulary 0..{VOCAB_SIZE - 1}")
    return out.decode("utf-8", errors="replace")


def token_string(i: int) -> str:
    return decode([i], skip_special=False)


def chat_prompt(messages: list[dict]) -> list[int]:
    """model.ChatPrompt: message contents are encoded byte by byte (no
    special tokens), then the assistant's turn is opened."""
    ids = [BOS]
    for m in messages:
        ids.append(IM_START)
        ids += list(str(m["role"]).encode())
        ids.append(ord("\n"))
        ids += list(str(m["content"]).encode())
        ids += [IM_END, ord("\n")]
    ids.append(IM_START)
    ids += list(b"assistant\n")
    return ids


def text_prompt(text: str) -> list[int]:
    """How the embedded server tokenizes a text prompt: BOS, then the text."""
    return [BOS] + encode(text)


# --- model -----------------------------------------------------------------

class RMSNorm(torch.nn.Module):
    def __init__(self, d: int, eps: float) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Attention(torch.nn.Module):
    def __init__(self, c: Config) -> None:
        super().__init__()
        self.heads = c.heads
        self.qkv = torch.nn.Linear(c.width, 3 * c.width, bias=False)
        self.out = torch.nn.Linear(c.width, c.width, bias=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, cache: Optional[list[torch.Tensor]]) -> torch.Tensor:
        b, t, d = x.shape
        h = self.heads
        q, k, v = self.qkv(x).split(d, dim=-1)
        q, k, v = (z.view(b, t, h, d // h).transpose(1, 2) for z in (q, k, v))
        if cache is not None:
            if cache:
                k = torch.cat([cache[0], k], dim=2)
                v = torch.cat([cache[1], v], dim=2)
            cache[:] = [k, v]
        s = (q @ k.transpose(-1, -2)) / math.sqrt(d // h)
        a = s.masked_fill(~mask, float("-inf")).softmax(-1)
        return self.out((a @ v).transpose(1, 2).reshape(b, t, d))


class MLP(torch.nn.Module):
    def __init__(self, c: Config) -> None:
        super().__init__()
        self.up = torch.nn.Linear(c.width, c.mlp, bias=False)
        self.down = torch.nn.Linear(c.mlp, c.width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.gelu(self.up(x), approximate="tanh"))


class Block(torch.nn.Module):
    def __init__(self, c: Config) -> None:
        super().__init__()
        self.attn_norm = RMSNorm(c.width, c.norm_eps)
        self.attn = Attention(c)
        self.mlp_norm = RMSNorm(c.width, c.norm_eps)
        self.mlp = MLP(c)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, cache: Optional[list[torch.Tensor]]) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x), mask, cache)
        return x + self.mlp(self.mlp_norm(x))


class Model(torch.nn.Module):
    """The embedded transformer. ``forward(ids, positions, key_mask, caches)``
    returns logits [B, T, V]; with caches (one list per layer, filled in
    place) it decodes incrementally."""

    def __init__(self, c: Config) -> None:
        super().__init__()
        self.config = c
        self.tok_emb = torch.nn.Embedding(c.vocab, c.width)
        self.pos_emb = torch.nn.Embedding(c.context, c.width)
        self.layers = torch.nn.ModuleList(Block(c) for _ in range(c.layers))
        self.norm = RMSNorm(c.width, c.norm_eps)

    def forward(
        self,
        ids: torch.Tensor,
        positions: Optional[torch.Tensor] = None,
        key_mask: Optional[torch.Tensor] = None,
        caches: Optional[list[list[torch.Tensor]]] = None,
    ) -> torch.Tensor:
        b, t = ids.shape
        past = caches[0][0].shape[2] if caches and caches[0] else 0
        if positions is None:
            positions = torch.arange(past, past + t, device=ids.device).expand(b, t)
        x = self.tok_emb(ids) + self.pos_emb(positions)
        # Causal over cache coordinates, and keys allowed by key_mask [B, past+t].
        qi = torch.arange(past, past + t, device=ids.device).unsqueeze(-1)
        kj = torch.arange(past + t, device=ids.device).unsqueeze(0)
        mask = (kj <= qi).unsqueeze(0).unsqueeze(0)
        if key_mask is not None:
            # A padding query sees only itself: a row with every key masked
            # would be NaN, and 0 * NaN poisons the real queries' sums.
            mask = (mask & key_mask[:, None, None, :]) | (kj == qi).unsqueeze(0).unsqueeze(0)
        for i, layer in enumerate(self.layers):
            x = layer(x, mask, caches[i] if caches is not None else None)
        return self.norm(x) @ self.tok_emb.weight.T

    @torch.no_grad()
    def init_weights(self, seed: int) -> None:
        """GPT-2-style initialisation (norms 1, normal InitStd, residual
        outputs scaled by 1/sqrt(2*layers)), drawn from torch's generator
        seeded with seed (not the Go generator: the weights differ from a Go
        model of the same seed, the distribution does not)."""
        c = self.config
        g = torch.Generator().manual_seed(seed)
        resid = c.init_std / math.sqrt(2 * c.layers)
        for name, p in self.named_parameters():
            if p.dim() == 1:
                p.fill_(1.0)
                continue
            std = resid if name.endswith(("attn.out.weight", "mlp.down.weight")) else c.init_std
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * std)


def is_checkpoint(path: str) -> bool:
    """Whether path is a tabler1 embedded checkpoint directory."""
    cfg = os.path.join(path, CONFIG_FILE)
    if not (os.path.isdir(path) and os.path.isfile(cfg) and os.path.isfile(os.path.join(path, WEIGHTS_FILE))):
        return False
    with open(cfg) as f:
        d = json.load(f)
    return "width" in d and "layers" in d


def read_config(path: str) -> Config:
    with open(os.path.join(path, CONFIG_FILE)) as f:
        return Config.from_json(json.load(f))


def write_config(path: str, c: Config) -> None:
    with open(os.path.join(path, CONFIG_FILE), "w") as f:
        json.dump(c.to_json(), f, indent=2)
        f.write("\n")


def load_weights(m: torch.nn.Module, path: str) -> None:
    """Loads a tabler1 weights file into m (strict: every tensor, right shapes)."""
    ts, _ = st_io.load(path)
    sd = m.state_dict()
    missing = set(sd) - set(ts)
    if missing:
        raise ValueError(f"{path}: tensors missing: {sorted(missing)[:5]}")
    for name, v in sd.items():
        if tuple(ts[name].shape) != tuple(v.shape):
            raise ValueError(f"{path}: tensor {name!r} has shape {list(ts[name].shape)}, the config wants {list(v.shape)}")
    m.load_state_dict({k: ts[k].to(v.dtype) for k, v in sd.items()})


def weights(m: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state dict as the Go side stores it: float64."""
    return {k: v.detach().to(torch.float64) for k, v in m.state_dict().items()}


class EmbeddedFamily:
    """The embedded transformer as the engine's model family."""

    kind = "tabler1-embedded"

    def __init__(self, config: Config, name: str, device: torch.device, dtype: torch.dtype) -> None:
        self.config = config
        self.name = name
        self.device = device
        self.dtype = dtype
        self.context = config.context
        self.stop_ids = frozenset((EOS, IM_END))
        self.pad_id = PAD

    def new_module(self) -> Model:
        return Model(self.config).to(device=self.device, dtype=self.dtype)

    # tokenizer
    def encode_prompt(self, text: str) -> list[int]:
        return text_prompt(text)

    def encode_completion(self, text: str) -> list[int]:
        return encode(text) + [EOS]

    def chat_prompt(self, messages: list[dict]) -> list[int]:
        return chat_prompt(messages)

    def decode(self, ids: list[int]) -> str:
        return decode([i for i in ids if 0 <= i < VOCAB_SIZE])

    def token_string(self, i: int) -> str:
        return token_string(i)

    # compute
    def hidden(self, module: Model, ids: torch.Tensor, key_mask: Optional[torch.Tensor]) -> torch.Tensor:
        """Final normalised states [B, T, D] of right-padded ids (padding
        sits after every real token, so causal attention never sees it)."""
        b, t = ids.shape
        x = module.tok_emb(ids) + module.pos_emb(torch.arange(t, device=ids.device).expand(b, t))
        mask = torch.ones(t, t, dtype=torch.bool, device=ids.device).tril()[None, None]
        for layer in module.layers:
            x = layer(x, mask, None)
        return module.norm(x)

    def head(self, module: Model, h: torch.Tensor) -> torch.Tensor:
        return h @ module.tok_emb.weight.T

    def step(self, module: Model, ids: torch.Tensor, positions: torch.Tensor, key_mask: torch.Tensor, cache: object) -> tuple[torch.Tensor, object]:
        """One generation step (prefill when cache is None): logits of the
        last position [B, V] and the cache."""
        caches = cache if cache is not None else [[] for _ in module.layers]
        logits = module(ids, positions, key_mask, caches)
        return logits[:, -1], caches

    def decay(self, name: str, p: torch.Tensor) -> bool:
        return p.dim() == 2
