"""forward_backward benchmark of the PyTorch backend, and the randomly
initialised models it (and scripts/gpu-check.sh) runs on.

    python3 -m tabler1_torch.bench --prepare backends/torch/configs/qwen2-1.5b --model DIR
    python3 -m tabler1_torch.bench --model DIR --tokens 8192,16384

``--prepare CONFIG_DIR`` writes a model directory: CONFIG_DIR's config.json,
a byte-level tokenizer (the one next to the config, or one built with the
``tokenizers`` library) and random weights in safetensors; nothing is
downloaded. The benchmark builds the engine in-process
(``tabler1_torch.engine.build_engine``) and, per micro-batch size, times
``forward_backward`` on one micro-batch of that many tokens: the median of
``--iters`` calls after ``--warmup``, CUDA-synchronised; tokens/s; peak GPU
memory (``torch.cuda.max_memory_allocated``); and MFU, model FLOPs over
time over a bf16 peak: the datasheet's dense peak (``--peak-tflops``, 989
for an H100/H200 SXM) and, as a second denominator, a large bf16 matmul
measured in the same run.

Model FLOPs of one micro-batch (``train_flops``): 6 x N_layers x tokens
+ 6 x vocab x hidden x completion tokens + 6 x layers x heads x head_dim x
sum over sequences of s(s+1). N_layers counts the weights of every matmul in
the layers (attention and MLP projections); the output projection (vocab x
hidden, counted even when tied to the embedding) runs only at the positions
whose logits the loss uses, one per completion token (the engine applies the
head there only: prompt positions get no logits); the last term is causal
attention (QK^T and AV, forward and backward: 3 x 2 x 2 x head_dim x heads
FLOPs per attended pair, s(s+1)/2 pairs per sequence of length s).
Embedding look-ups, norms, activations and the log-softmax are not counted;
nor is the recomputation of gradient checkpointing. The request bodies are
built before the timed calls (that is client work); the engine's parsing of
them is timed.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

H200_BF16_DENSE_TFLOPS = 989.0  # NVIDIA H100/H200 SXM datasheet, dense (no sparsity)

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@dataclass(frozen=True)
class ModelShape:
    """The dimensions of a decoder-only transformer that set its FLOPs."""

    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    tied: bool

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> ModelShape:
        """Reads a Hugging Face config.json of the Llama/Qwen2 family."""
        try:
            hidden = int(cfg["hidden_size"])
            heads = int(cfg["num_attention_heads"])
            return cls(hidden=hidden, layers=int(cfg["num_hidden_layers"]), heads=heads,
                       kv_heads=int(cfg.get("num_key_value_heads") or heads),
                       head_dim=int(cfg.get("head_dim") or hidden // heads),
                       intermediate=int(cfg["intermediate_size"]), vocab=int(cfg["vocab_size"]),
                       tied=bool(cfg.get("tie_word_embeddings", False)))
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"config.json lacks a Llama/Qwen2-style field ({e}); cannot count FLOPs") from None

    def layer_matmul_params(self) -> int:
        q = self.hidden * self.heads * self.head_dim
        kv = 2 * self.hidden * self.kv_heads * self.head_dim
        o = self.heads * self.head_dim * self.hidden
        mlp = 3 * self.hidden * self.intermediate  # gate, up, down
        return q + kv + o + mlp

    def matmul_params(self) -> int:
        """N of the FLOP count: every matmul weight, output projection included."""
        return self.layers * self.layer_matmul_params() + self.vocab * self.hidden

    def params(self) -> int:
        """All parameters with Qwen2's q/k/v biases and RMSNorm weights: the
        model's size as usually quoted."""
        per_layer = self.layer_matmul_params() + (self.heads + 2 * self.kv_heads) * self.head_dim + 2 * self.hidden
        emb = self.vocab * self.hidden * (1 if self.tied else 2)
        return self.layers * per_layer + self.hidden + emb


def train_flops(shape: ModelShape, seq_lens: Sequence[int], completion_lens: Sequence[int]) -> float:
    """Model FLOPs of one forward and backward pass over the sequences of
    seq_lens tokens, completion_lens of them completion tokens (see the module
    doc for the formula)."""
    if len(seq_lens) != len(completion_lens) or any(not 0 <= c <= s for s, c in zip(seq_lens, completion_lens)):
        raise ValueError(f"completion lengths {list(completion_lens)} do not fit sequence lengths {list(seq_lens)}")
    layers = 6.0 * shape.layers * shape.layer_matmul_params() * sum(seq_lens)
    head = 6.0 * shape.vocab * shape.hidden * sum(completion_lens)
    attn = 6 * shape.layers * shape.heads * shape.head_dim * sum(s * (s + 1) for s in seq_lens)
    return layers + head + attn


def completion_lens(seq_lens: Sequence[int], prompt_len: int) -> list[int]:
    """Completion tokens of each sequence as make_body splits it."""
    return [n - (min(prompt_len, n - 1) if n > 1 else 0) for n in seq_lens]


def split_tokens(total: int, seq_len: int) -> list[int]:
    """Sequence lengths summing to total, each at most seq_len."""
    if total <= 0 or seq_len <= 0:
        raise ValueError(f"tokens {total} and seq_len {seq_len} must be > 0")
    out = [seq_len] * (total // seq_len)
    if total % seq_len:
        out.append(total % seq_len)
    return out


def make_body(total_tokens: int, seq_len: int, prompt_len: int, vocab: int, seed: int, step: int = 1) -> dict[str, Any]:
    """A forward_backward request (docs/backend-protocol.md) of total_tokens
    tokens: random token ids, sampler log-probs and advantages; KL off so no
    reference model is needed."""
    rng = random.Random(seed)
    seqs = []
    lens = split_tokens(total_tokens, seq_len)
    for i, (n, c) in enumerate(zip(lens, completion_lens(lens, prompt_len))):
        p = n - c
        seqs.append({
            "id": f"bench-{step}-{i}",
            "prompt": "bench prompt",
            "completion": "bench completion",
            "prompt_tokens": [rng.randrange(vocab) for _ in range(p)],
            "completion_tokens": [rng.randrange(vocab) for _ in range(c)],
            "sampler_logprobs": [-rng.uniform(0.01, 3.0) for _ in range(c)],
            "advantage": rng.choice((-1.0, 1.0)),
        })
    return {
        "request_id": str(uuid.uuid4()),
        "batch": {"step": step, "sequences": seqs},
        "loss": {"clip_ratio_low": 0.2, "clip_ratio_high": 0.28, "clip_ratio_c": 3, "loss_agg_mode": "token-mean",
                 "loss_scale_factor": 0, "kl_loss_type": "k3", "kl_loss_coef": 0,
                 "rollout_is_threshold": 2, "rollout_is_mode": "token_truncate"},
    }


def time_calls(fn: Callable[[], Any], sync: Callable[[], None], warmup: int, iters: int,
               clock: Callable[[], float] = time.perf_counter) -> list[float]:
    """Seconds of each of iters calls of fn after warmup calls, each bracketed
    by sync (a device synchronisation) so queued GPU work is counted."""
    if iters < 1 or warmup < 0:
        raise ValueError(f"iters {iters} must be >= 1 and warmup {warmup} >= 0")
    for _ in range(warmup):
        fn()
    sync()
    out = []
    for _ in range(iters):
        t0 = clock()
        fn()
        sync()
        out.append(clock() - t0)
    return out


def matmul_tflops(torch: Any, device: str, dtype: Any, n: int, iters: int = 10) -> float:
    """Achieved TFLOP/s of an n x n by n x n matmul (2n^3 FLOPs), median of
    iters after a warm-up: what the device really delivers at this dtype."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    sync = (lambda: torch.cuda.synchronize()) if device.startswith("cuda") else (lambda: None)
    secs = time_calls(lambda: torch.matmul(a, b), sync, warmup=3, iters=iters)
    return 2.0 * n ** 3 / statistics.median(secs) / 1e12


@dataclass
class Row:
    """One micro-batch size's result; step_s is None when it ran out of memory."""

    tokens: int
    sequences: int
    step_s: float | None
    tokens_per_s: float | None
    peak_gib: float | None
    tflops: float | None
    mfu_datasheet: float | None
    mfu_matmul: float | None
    error: str = ""


def is_oom(e: BaseException) -> bool:
    return type(e).__name__ == "OutOfMemoryError" or "out of memory" in str(e).lower()


def bench_engine(engine: Any, shape: ModelShape, tokens: Sequence[int], *, seq_len: int, prompt_len: int,
                 warmup: int, iters: int, sync: Callable[[], None],
                 reset_peak: Callable[[], None], peak_bytes: Callable[[], int | None],
                 datasheet_tflops: float | None, matmul: float | None, seed: int = 1,
                 clock: Callable[[], float] = time.perf_counter, on_oom: Callable[[], None] = lambda: None) -> list[Row]:
    """Times engine.forward_backward at each micro-batch size. Each call gets
    its own request body (a new request id and step), built before the timed
    calls."""
    rows = []
    step = 0
    for t in tokens:
        lens = split_tokens(t, seq_len)
        flops = train_flops(shape, lens, completion_lens(lens, prompt_len))
        bodies = []
        for _ in range(warmup + iters):
            step += 1
            bodies.append(make_body(t, seq_len, prompt_len, shape.vocab, seed + step, step))
        pending = iter(bodies)

        def call() -> None:
            ans = engine.forward_backward(next(pending))
            got = ans.get("tokens") if isinstance(ans, dict) else None
            if not isinstance(got, (int, float)) or got <= 0:
                raise RuntimeError(f"forward_backward answered {ans!r}; want a positive \"tokens\"")

        reset_peak()
        try:
            secs = time_calls(call, sync, warmup, iters, clock)
        except Exception as e:  # noqa: BLE001 - an OOM is a result; anything else is re-raised
            if not is_oom(e):
                raise
            on_oom()
            rows.append(Row(t, len(lens), None, None, peak_gib(peak_bytes()), None, None, None,
                            error=f"out of memory: {str(e).splitlines()[0][:120]}"))
            continue
        med = statistics.median(secs)
        tf = flops / med / 1e12
        rows.append(Row(t, len(lens), med, t / med, peak_gib(peak_bytes()), tf,
                        tf / datasheet_tflops if datasheet_tflops else None,
                        tf / matmul if matmul else None))
    return rows


def peak_gib(b: int | None) -> float | None:
    return None if b is None else b / 2 ** 30


def format_table(rows: Sequence[Row]) -> str:
    def f(v: float | None, fmt: str) -> str:
        return "n/a" if v is None else format(v, fmt)

    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{100 * v:.1f}%"

    head = ("tokens/micro-batch", "seqs", "step s (median)", "tokens/s", "peak GiB", "model TFLOP/s",
            "MFU (datasheet)", "MFU (matmul)")
    lines = [head]
    for r in rows:
        if r.step_s is None:
            lines.append((str(r.tokens), str(r.sequences), "OOM", "-", f(r.peak_gib, ".1f"), "-", "-", "-"))
            continue
        lines.append((str(r.tokens), str(r.sequences), f(r.step_s, ".4f"), f(r.tokens_per_s, ",.0f"),
                      f(r.peak_gib, ".1f"), f(r.tflops, ".1f"), pct(r.mfu_datasheet), pct(r.mfu_matmul)))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = ["| " + " | ".join(c.rjust(w) for c, w in zip(line, widths)) + " |" for line in lines]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def verdicts(rows: Sequence[Row], mfu_target: float, mfu_tokens: int, oom_tokens: int) -> list[str]:
    """The issue's targets: MFU (datasheet) >= mfu_target at mfu_tokens, and no
    OOM at oom_tokens."""
    by = {r.tokens: r for r in rows}
    out = []
    r = by.get(mfu_tokens)
    if r is not None:
        ok = r.mfu_datasheet is not None and r.mfu_datasheet >= mfu_target
        got = "OOM" if r.step_s is None else ("n/a" if r.mfu_datasheet is None else f"{100 * r.mfu_datasheet:.1f}%")
        out.append(f"target MFU >= {100 * mfu_target:.0f}% at {mfu_tokens} tokens: {'PASS' if ok else 'FAIL'} ({got})")
    r = by.get(oom_tokens)
    if r is not None:
        out.append(f"target no OOM at {oom_tokens} tokens: {'PASS' if r.step_s is not None else 'FAIL'}")
    return out


# ---- model preparation (no downloads) ----

def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from bytes to printable characters, which
    byte-level BPE vocabularies are written in."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def write_byte_tokenizer(out: Path) -> None:
    """tokenizer.json (byte-level BPE without merges: token id b is byte b,
    then <|endoftext|>, <|im_start|>, <|im_end|>) and tokenizer_config.json
    with a ChatML chat template, built with the tokenizers library."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    vocab = {ch: b for b, ch in bytes_to_unicode().items()}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(list(SPECIAL_TOKENS))
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    ids = {t: tok.token_to_id(t) for t in SPECIAL_TOKENS}
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": 32768,
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "clean_up_tokenization_spaces": False,
        "added_tokens_decoder": {str(i): {"content": t, "special": True, "lstrip": False, "rstrip": False,
                                          "normalized": False, "single_word": False} for t, i in ids.items()},
        "chat_template": CHATML_TEMPLATE,
    }
    (out / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2) + "\n")


def prepare_model(config_dir: Path, out: Path, *, device: str, seed: int) -> None:
    """A model directory from config_dir: config.json, the tokenizer files
    next to it (built if absent) and random bf16 weights in safetensors."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    out.mkdir(parents=True, exist_ok=True)
    tok_files = ("tokenizer.json", "tokenizer_config.json")
    if all((config_dir / f).exists() for f in tok_files):
        for f in tok_files:
            shutil.copyfile(config_dir / f, out / f)
    else:
        write_byte_tokenizer(out)
    shutil.copyfile(config_dir / "config.json", out / "config.json")
    cfg = AutoConfig.from_pretrained(str(out))
    torch.manual_seed(seed)
    with torch.device(device):
        try:
            model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)
        except TypeError:  # transformers < 4.56 names it torch_dtype
            model = AutoModelForCausalLM.from_config(cfg, torch_dtype=torch.bfloat16)
    model.save_pretrained(str(out))  # safetensors: the default since transformers 4.35


# ---- command line ----

def parse_tokens(s: str) -> list[int]:
    try:
        out = [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--tokens {s!r}: want comma-separated integers, e.g. 8192,16384") from None
    if not out or any(t <= 0 for t in out):
        raise argparse.ArgumentTypeError(f"--tokens {s!r}: want positive integers")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m tabler1_torch.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="model directory (written by --prepare)")
    ap.add_argument("--prepare", metavar="CONFIG_DIR", help="write a random model from CONFIG_DIR into --model and exit")
    ap.add_argument("--tokens", type=parse_tokens, default=[8192, 16384], help="tokens per micro-batch (default 8192,16384)")
    ap.add_argument("--seq-len", type=int, default=2048, help="tokens per sequence (default 2048)")
    ap.add_argument("--prompt-len", type=int, default=512, help="prompt tokens per sequence (default 512)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--device", default="auto", help="auto (cuda when available), cuda or cpu")
    ap.add_argument("--dtype", default="auto", help="passed to build_engine (auto: bf16 on GPU)")
    ap.add_argument("--gradient-checkpointing", action="store_true")
    ap.add_argument("--attn-implementation", default=None, help="e.g. sdpa or flash_attention_2 (default: the engine's)")
    ap.add_argument("--peak-tflops", type=float, default=H200_BF16_DENSE_TFLOPS,
                    help=f"datasheet dense bf16 peak, TFLOP/s (default {H200_BF16_DENSE_TFLOPS:g}: H100/H200 SXM)")
    ap.add_argument("--matmul-size", type=int, default=0, help="n of the n x n matmul peak (default 8192 on GPU, 512 on CPU)")
    ap.add_argument("--mfu-target", type=float, default=0.40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    a = ap.parse_args(argv)

    import torch

    device = a.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model = Path(a.model)
    if a.prepare:
        t0 = time.monotonic()
        prepare_model(Path(a.prepare), model, device=device, seed=a.seed)
        shape = ModelShape.from_config(json.loads((model / "config.json").read_text()))
        print(f"prepared {model}: {shape.params() / 1e9:.3f}B parameters from {a.prepare} in {time.monotonic() - t0:.1f} s")
        return 0

    shape = ModelShape.from_config(json.loads((model / "config.json").read_text()))
    cuda = device.startswith("cuda")
    if cuda:
        name = torch.cuda.get_device_name(device)
        sync = torch.cuda.synchronize
        reset = torch.cuda.reset_peak_memory_stats
        peak: Callable[[], int | None] = torch.cuda.max_memory_allocated
        mm_dtype = torch.bfloat16
        datasheet: float | None = a.peak_tflops
    else:
        name = "cpu"
        sync, reset, peak = (lambda: None), (lambda: None), (lambda: None)
        mm_dtype = torch.float32
        datasheet = None  # a GPU datasheet peak means nothing on a CPU
    n = a.matmul_size or (8192 if cuda else 512)
    matmul = matmul_tflops(torch, device, mm_dtype, n)
    print(f"device {name}, torch {torch.__version__}; model {model}: {shape.params() / 1e9:.3f}B parameters, "
          f"{shape.matmul_params() / 1e9:.3f}B in matmuls")
    print(f"measured {n}x{n} {str(mm_dtype).replace('torch.', '')} matmul: {matmul:.1f} TFLOP/s"
          + (f"; datasheet peak {datasheet:g} TFLOP/s" if datasheet else ""))
    print("MFU = (6 x N_layers x tokens + 6 x vocab x hidden x completion tokens + 6 x layers x heads x head_dim "
          "x sum s(s+1)) / step time / peak (N_layers: attention and MLP weights; the output projection runs at "
          "completion positions only; causal attention); request bodies are built before the timed calls")

    from tabler1_torch.engine import build_engine

    opts: dict[str, Any] = {"micro_batch_tokens": max(a.tokens), "gradient_checkpointing": a.gradient_checkpointing}
    if a.attn_implementation:
        opts["attn_implementation"] = a.attn_implementation
    t0 = time.monotonic()
    engine = build_engine(str(model), device=device, dtype=a.dtype, **opts)
    print(f"engine built in {time.monotonic() - t0:.1f} s with {opts}; {a.warmup} warm-up + {a.iters} timed calls per size, "
          f"sequences of {a.seq_len} tokens ({a.prompt_len} prompt)")

    def free() -> None:
        if cuda:
            torch.cuda.empty_cache()

    rows = bench_engine(engine, shape, a.tokens, seq_len=a.seq_len, prompt_len=a.prompt_len, warmup=a.warmup,
                        iters=a.iters, sync=sync, reset_peak=reset, peak_bytes=peak, datasheet_tflops=datasheet,
                        matmul=matmul, seed=a.seed, on_oom=free)
    print()
    print(format_table(rows))
    for v in verdicts(rows, a.mfu_target, 8192, 16384):
        print(v)
    if a.json:
        Path(a.json).write_text(json.dumps({
            "device": name, "torch": torch.__version__, "model": str(model), "params": shape.params(),
            "matmul_params": shape.matmul_params(), "matmul_tflops": matmul, "datasheet_tflops": datasheet,
            "options": opts, "seq_len": a.seq_len, "rows": [asdict(r) for r in rows]}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
