"""Data parallelism under torchrun: rank 0 answers HTTP and announces each
protocol call to the other ranks, every rank runs it on its share of the
batch (sequences rank, rank+world, ...), the loss sums and gradients are
summed across ranks (each sequence's aggregation weight is the whole
batch's, so the sum is the whole batch's gradient) before optim_step, and
every rank steps the same optimizer on the same gradient.

Parameters are replicated (DDP-style); see docs/backend-protocol.md for
what is and is not sharded."""
from __future__ import annotations

import datetime
import os
from typing import Any, Optional

import torch
import torch.distributed as tdist

from .loss import LossParts

_STOP = "__stop__"
# Followers wait for the next call as long as the run lasts.
_TIMEOUT = datetime.timedelta(days=30)


class Group:
    """This process's place in the torchrun job."""

    def __init__(self, rank: int, world: int, control: Any) -> None:
        self.rank = rank
        self.world = world
        self.is_main = rank == 0
        self.control = control  # a gloo group for the call announcements

    def share(self, n: int) -> list[int]:
        return list(range(self.rank, n, self.world))

    def _sum(self, t: torch.Tensor) -> torch.Tensor:
        dev = torch.device("cuda", torch.cuda.current_device()) if tdist.get_backend() == "nccl" else torch.device("cpu")
        x = t.to(dev)
        tdist.all_reduce(x)
        return x.cpu()

    def sum_floats(self, xs: list[float]) -> list[float]:
        return [float(v) for v in self._sum(torch.tensor(xs, dtype=torch.float64))]

    def reduce_parts(self, p: LossParts) -> LossParts:
        v = self.sum_floats([float(p.loss), p.pg_loss, p.kl_loss, p.tokens, p.clipped, p.kl_sum, p.entropy_sum, p.ratio_sum])
        return LossParts(torch.tensor(v[0], dtype=torch.float64), *v[1:])

    def all_reduce_grads(self, params: list[torch.nn.Parameter]) -> None:
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            tdist.all_reduce(p.grad)

    def announce(self, method: str, body: dict) -> None:
        msg: list[Any] = [(method, body)]
        tdist.broadcast_object_list(msg, src=0, group=self.control)

    def follow(self, engine: Any) -> None:
        """Runs the calls rank 0 announces until it stops."""
        while True:
            msg: list[Any] = [None]
            tdist.broadcast_object_list(msg, src=0, group=self.control)
            method, body = msg[0]
            if method == _STOP:
                break
            try:
                getattr(engine, method)(body)
            except Exception:  # noqa: BLE001 - rank 0 reports the same (deterministic) error
                pass
        tdist.destroy_process_group()

    def shutdown(self) -> None:
        self.announce(_STOP, {})
        tdist.destroy_process_group()


def init_from_env() -> Optional[Group]:
    """The process group when run by torchrun with more than one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return None
    if not tdist.is_available():
        raise RuntimeError("torch.distributed is not available in this torch build; run with --nproc 1")
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    tdist.init_process_group(backend="nccl" if cuda else "gloo", timeout=_TIMEOUT)
    control = tdist.new_group(backend="gloo", timeout=_TIMEOUT)
    return Group(tdist.get_rank(), tdist.get_world_size(), control)
