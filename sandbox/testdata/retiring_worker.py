"""A stand-in for the sandbox worker (TestARetiringWorkerIsReplaced): it
speaks the worker protocol, answers its first job with a result that says
it could not clean up (retire), and exits."""
import json
import os
import struct
import sys


def read_frame() -> object:
    head = sys.stdin.buffer.read(4)
    if len(head) < 4:
        return None
    (n,) = struct.unpack(">I", head)
    return json.loads(sys.stdin.buffer.read(n))


def write_frame(obj: object) -> None:
    body = json.dumps(obj).encode()
    sys.stdout.buffer.write(struct.pack(">I", len(body)) + body)
    sys.stdout.buffer.flush()


read_frame()  # the configuration
write_frame({"event": "ready", "pid": os.getpid(), "mode": {}})
req = read_frame()
if isinstance(req, dict):
    write_frame({"event": "start", "id": req["id"], "pid": 0})
    write_frame({"event": "done", "id": req["id"], "status": "ok", "stdout": "served\n", "retire": True})
