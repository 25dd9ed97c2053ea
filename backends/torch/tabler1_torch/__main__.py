"""python3 -m tabler1_torch --model M --port N [...]: the reference trainer's
HTTP server (scripts/torch-backend.sh wraps it, with torchrun for --nproc)."""
from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import socket
import sys
import threading
from typing import Optional

TOKEN_ENV = "TABLER1_BACKEND_TOKEN"


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="tabler1_torch", description="tabler1's PyTorch trainer: the remote backend protocol and OpenAI rollout serving on one port.")
    p.add_argument("--model", required=True, help="a Hugging Face model directory or id, a tabler1 embedded checkpoint directory, or embedded:CONFIG.json (a fresh embedded model)")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (a non-loopback one needs $%s)" % TOKEN_ENV)
    p.add_argument("--device", default="auto", help="auto (cuda when present), cpu, cuda, cuda:N")
    p.add_argument("--dtype", default="auto", help="auto (bfloat16 on GPU, float32 on CPU), float64, float32, bfloat16")
    p.add_argument("--name", help="the served model id (default: the model's name)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--micro-batch-tokens", type=int, default=8192, help="padded tokens per forward-backward micro-batch")
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument("--attn-implementation", default="sdpa", help="transformers' attn_implementation: sdpa, flash_attention_2, eager")
    p.add_argument("--lora-rank", type=int, default=0, help="train a LoRA adapter of this rank (peft) instead of all weights")
    p.add_argument("--max-batch-rows", type=int, default=256, help="sequences sampled together at most")
    p.add_argument("--publish-to", action="append", default=[], metavar="KIND=URL", help="rollout server to push weights to at publish (sglang, vllm, vllm-lora); repeatable")
    p.add_argument("--publish-dir", help="where publish writes the weights the rollout servers load (DIR/vN)")
    p.add_argument("--publish-timeout", type=float, default=600.0, help="seconds per rollout server update")
    return p.parse_args(argv)


def is_loopback(host: str) -> bool:
    try:
        return all(ipaddress.ip_address(ai[4][0]).is_loopback for ai in socket.getaddrinfo(host, None))
    except (OSError, ValueError):
        return False


def main(argv: Optional[list[str]] = None) -> int:
    a = parse_args(argv)
    token = os.environ.get(TOKEN_ENV) or None
    if token is None and not is_loopback(a.host):
        print(f"tabler1_torch: refusing to listen on {a.host} without a bearer token: export {TOKEN_ENV}", file=sys.stderr)
        return 2
    if a.publish_to and not a.publish_dir:
        print("tabler1_torch: --publish-to needs --publish-dir (where the weights the rollout servers load are written)", file=sys.stderr)
        return 2
    from . import dist as distmod
    from .engine import build_engine

    group = distmod.init_from_env()
    opts = dict(micro_batch_tokens=a.micro_batch_tokens, seed=a.seed, name=a.name, publish_to=a.publish_to,
                publish_dir=a.publish_dir, publish_timeout_s=a.publish_timeout)
    if group is not None:
        opts["dist"] = group
    opts.update(gradient_checkpointing=a.gradient_checkpointing, attn_implementation=a.attn_implementation, lora_rank=a.lora_rank)
    try:
        engine = build_engine(a.model, device=a.device, dtype=a.dtype, **opts)
    except (ValueError, OSError, ImportError) as e:
        print(f"tabler1_torch: cannot load {a.model}: {e}", file=sys.stderr)
        return 2
    if group is not None and not group.is_main:
        group.follow(engine)
        return 0
    from .server import App, make_server

    srv = make_server(App(engine, token, a.max_batch_rows), a.host, a.port)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    host, port = srv.server_address[:2]
    print(f"tabler1_torch: serving {engine.family.name} ({engine.family.kind}) on http://{host}:{port} (protocol /v1/{{method}}, OpenAI /v1)", flush=True)
    try:
        srv.serve_forever()
    finally:
        srv.server_close()
        if group is not None:
            group.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
