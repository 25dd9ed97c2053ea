"""A small safetensors reader and writer (the format's 8-byte header length,
JSON header, raw little-endian data): Debian has no python3-safetensors,
and the embedded family's checkpoints are F64 files the Go side reads."""
from __future__ import annotations

import json
import os
import struct
from typing import Mapping

import torch

_DTYPES = {"F64": torch.float64, "F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16, "I64": torch.int64}
_NAMES = {v: k for k, v in _DTYPES.items()}
MAX_HEADER = 100 << 20


def load(path: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Reads every tensor of a safetensors file and its string metadata."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > MAX_HEADER or n > len(raw) - 8:
        raise ValueError(f"{path}: header length {n} exceeds the file or the 100 MB limit")
    header = json.loads(raw[8 : 8 + n])
    data = memoryview(raw)[8 + n :]
    meta = header.pop("__metadata__", None) or {}
    out: dict[str, torch.Tensor] = {}
    for name, e in header.items():
        dt = _DTYPES.get(e["dtype"])
        if dt is None:
            raise ValueError(f"{path}: tensor {name!r} has dtype {e['dtype']}; supported: {', '.join(_DTYPES)}")
        lo, hi = e["data_offsets"]
        if not 0 <= lo <= hi <= len(data):
            raise ValueError(f"{path}: tensor {name!r} offsets [{lo}, {hi}] outside {len(data)} data bytes")
        t = torch.frombuffer(bytearray(data[lo:hi]), dtype=dt) if hi > lo else torch.empty(0, dtype=dt)
        out[name] = t.reshape(e["shape"])
    return out, meta


def save(path: str, tensors: Mapping[str, torch.Tensor], meta: Mapping[str, str] | None = None) -> None:
    """Writes tensors (sorted by name, as the Go encoder) atomically."""
    header: dict[str, object] = {}
    if meta:
        header["__metadata__"] = dict(meta)
    blobs = []
    off = 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        if t.dtype not in _NAMES:
            raise ValueError(f"safetensors: tensor {name!r} has dtype {t.dtype}")
        b = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * (-len(hj) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
