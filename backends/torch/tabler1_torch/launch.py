"""python3 -m tabler1_torch.launch --nproc N ARGS...: starts N ranks of
``python3 -m tabler1_torch ARGS`` with the environment torchrun sets (RANK,
LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), for torch builds whose
torchrun does not start (Debian's torch 1.13 on Python 3.11). Forwards
SIGINT/SIGTERM to the ranks and exits with the first failure."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "--nproc":
        print("usage: python3 -m tabler1_torch.launch --nproc N ARGS...", file=sys.stderr)
        return 2
    n = int(argv[1])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = []
    for rank in range(n):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(n), LOCAL_WORLD_SIZE=str(n),
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        procs.append(subprocess.Popen([sys.executable, "-m", "tabler1_torch", *argv[2:]], env=env))

    def forward(signum: int, frame: object) -> None:
        # Rank 0 tells the others to stop; they exit when it does.
        procs[0].send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [p.wait() for p in procs]
    return next((c for c in codes if c != 0), 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
