"""Hugging Face causal LMs (transformers' AutoModelForCausalLM) as the
engine's model family: the model's own tokenizer and chat template, bf16 on
GPU, SDPA or flash attention, gradient checkpointing, optional LoRA through
peft. Imported only for Hugging Face models; needs torch >= 2.4 and
transformers on the GPU path.
"""
from __future__ import annotations

import glob
import json
import os
from collections.abc import Mapping
from typing import Any, Optional

import torch

from . import st_io
from .engine import Engine

MIN_TORCH = (2, 4)


def _version(v: str) -> tuple[int, int]:
    parts = v.split("+")[0].split(".")
    return int(parts[0]), int("".join(c for c in parts[1] if c.isdigit()) or 0)


def check_requirements(device: torch.device) -> Any:
    """Imports transformers, or says plainly what to install."""
    if device.type == "cuda" and _version(torch.__version__) < MIN_TORCH:
        raise ValueError(f"Hugging Face models on GPU need torch >= {MIN_TORCH[0]}.{MIN_TORCH[1]}; this is torch {torch.__version__} "
                         "(pip install 'torch>=2.4' transformers)")
    try:
        import transformers
    except ImportError:
        raise ValueError("Hugging Face models need the transformers package (pip install transformers); "
                         "without it, train tabler1's embedded model (--model CHECKPOINT or embedded:CONFIG.json)") from None
    return transformers


class HFFamily:
    kind = "huggingface"

    def __init__(self, tokenizer: Any, config: Any, name: str, device: torch.device, lora: bool) -> None:
        self.tok = tokenizer
        self.name = name
        self.device = device
        self.lora = lora
        self.context = int(getattr(config, "max_position_embeddings", 4096))
        eos = config.eos_token_id if getattr(config, "eos_token_id", None) is not None else tokenizer.eos_token_id
        stops = set(eos if isinstance(eos, list) else [eos])
        if tokenizer.eos_token_id is not None:
            stops.add(tokenizer.eos_token_id)
        self.stop_ids = frozenset(i for i in stops if i is not None)
        self.eos_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else min(self.stop_ids)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_id

    def encode_prompt(self, text: str) -> list[int]:
        return [int(i) for i in self.tok.encode(text, add_special_tokens=True)]

    def encode_completion(self, text: str) -> list[int]:
        return [int(i) for i in self.tok.encode(text, add_special_tokens=False)] + [self.eos_id]

    def chat_prompt(self, messages: list[dict]) -> list[int]:
        if getattr(self.tok, "chat_template", None):
            ids = self.tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
            if isinstance(ids, Mapping):  # transformers >= 5 answers a BatchEncoding by default
                ids = ids["input_ids"]
            return [int(i) for i in ids]
        return self.encode_prompt("\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\nassistant: ")

    def decode(self, ids: list[int]) -> str:
        return self.tok.decode(ids, skip_special_tokens=True)

    def token_string(self, i: int) -> str:
        return str(self.tok.convert_ids_to_tokens(int(i)))

    @staticmethod
    def _base(module: torch.nn.Module) -> Any:
        get = getattr(module, "get_base_model", None)  # peft
        return get() if get is not None else module

    def hidden(self, module: torch.nn.Module, ids: torch.Tensor, key_mask: Optional[torch.Tensor]) -> torch.Tensor:
        mask = None if key_mask is None else key_mask.long()  # None: no padding
        out = self._base(module).get_decoder()(input_ids=ids, attention_mask=mask, use_cache=False)
        return out[0]

    def head(self, module: torch.nn.Module, h: torch.Tensor) -> torch.Tensor:
        return self._base(module).get_output_embeddings()(h)

    def step(self, module: torch.nn.Module, ids: torch.Tensor, positions: torch.Tensor, key_mask: torch.Tensor, cache: object) -> tuple[torch.Tensor, object]:
        out = module(input_ids=ids, attention_mask=key_mask.long(), position_ids=positions, past_key_values=cache, use_cache=True)
        return out.logits[:, -1].float(), out.past_key_values

    def decay(self, name: str, p: torch.Tensor) -> bool:
        return p.dim() >= 2

    def export(self, d: str, module: torch.nn.Module) -> None:
        """What rollout servers load: the HF directory (or the LoRA adapter)
        and the tokenizer."""
        os.makedirs(d, exist_ok=True)
        module.save_pretrained(d, safe_serialization=True)
        self.tok.save_pretrained(d)


def _load_state(d: str) -> dict[str, torch.Tensor]:
    files = sorted(glob.glob(os.path.join(d, "*.safetensors")))
    files = [f for f in files if not os.path.basename(f).startswith(("optimizer", "reference"))]
    if not files:
        raise ValueError(f"{d} holds no safetensors weights")
    out: dict[str, torch.Tensor] = {}
    for f in files:
        out.update(st_io.load(f)[0])
    return out


def build(model: str, dev: torch.device, dt: torch.dtype, seed: int, name: Optional[str], common: dict, options: dict) -> Engine:
    transformers = check_requirements(dev)
    gc = bool(options.pop("gradient_checkpointing", False))
    attn = options.pop("attn_implementation", None) or "sdpa"
    lora_rank = int(options.pop("lora_rank", 0) or 0)
    if options:
        raise ValueError(f"unknown options {sorted(options)}")
    torch.manual_seed(seed)
    tok = transformers.AutoTokenizer.from_pretrained(model)

    def load_model() -> torch.nn.Module:
        m = transformers.AutoModelForCausalLM.from_pretrained(model, torch_dtype=dt, attn_implementation=attn)
        return m.to(dev)

    policy = load_model()
    if gc:
        policy.gradient_checkpointing_enable()
        policy.config.use_cache = False
    if lora_rank:
        try:
            import peft
        except ImportError:
            raise ValueError("lora_rank needs the peft package (pip install peft)") from None
        policy = peft.get_peft_model(policy, peft.LoraConfig(r=lora_rank, lora_alpha=2 * lora_rank, target_modules="all-linear", task_type="CAUSAL_LM"))
        if gc:
            policy.enable_input_require_grads()  # checkpointed blocks need a grad-requiring input when the embeddings are frozen
    served = name or (os.path.basename(model.rstrip("/")) if os.path.isdir(model) else model)
    fam = HFFamily(tok, policy.config, served, dev, bool(lora_rank))

    def save_weights(d: str, module: torch.nn.Module, ref: Optional[torch.nn.Module]) -> None:
        fam.export(d, module)
        with open(os.path.join(d, "tabler1_reference.json"), "w") as f:
            json.dump({"reference": model}, f)

    def load_weights(d: str, module: torch.nn.Module) -> Optional[torch.nn.Module]:
        if fam.lora:
            import peft

            peft.set_peft_model_state_dict(module, st_io.load(os.path.join(d, "adapter_model.safetensors"))[0])
            return None
        state = _load_state(d)
        missing, unexpected = module.load_state_dict({k: v.to(dt) for k, v in state.items()}, strict=False)
        tied = {k for k in missing if k.endswith("lm_head.weight")} if getattr(module.config, "tie_word_embeddings", False) else set()
        if set(missing) - tied or unexpected:
            raise ValueError(f"{d}: weights do not fit the model (missing {sorted(set(missing) - tied)[:3]}, unexpected {sorted(unexpected)[:3]})")
        return None

    return Engine(fam, policy, reference_source=load_model, seed=seed, save_weights=save_weights, load_weights=load_weights, **common)
