# Prelude of a job sent to a SandboxFusion /run_code service (remote.go
# embeds this file, after layouts/frame.py). The job travels as the file
# tabler1_job.json; the program runs as in a local worker and the outcome is
# the last line of stderr, prefixed by __TABLER1_STATUS__.
def _tabler1_main():
    import builtins
    import json
    import linecache
    import os
    import sys
    import traceback

    import random

    import numpy as np
    import pandas as pd

    # As in a local worker: every job starts from seed 0 (string hashes
    # still vary, the service starts each interpreter).
    random.seed(0)
    np.random.seed(0)

    def report(obj):
        try:
            sys.stdout.flush()
        except BaseException:
            pass
        try:
            sys.stderr.write("\n__TABLER1_STATUS__ " + json.dumps(obj) + "\n")
            sys.stderr.flush()
        except BaseException:
            pass
        os._exit(0)

    with open("tabler1_job.json", encoding="utf-8") as f:
        job = json.load(f)
    code = job["code"]
    linecache.cache["<program>"] = (len(code), None, code.splitlines(True), "<program>")
    try:
        prog = compile(code, "<program>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as e:  # ValueError: a NUL byte in the source
        traceback.print_exception(type(e), e, None)
        report({"kind": "syntax", "type": type(e).__name__, "line": getattr(e, "lineno", 0) or 0, "detail": str(e)})
    except BaseException as e:
        report({"kind": "exception", "type": type(e).__name__, "line": 0, "detail": "compiling: %s" % e,
                "memory": isinstance(e, MemoryError)})
    if job.get("compile_only"):
        report({"kind": "ok"})
    df, raw = load_table(job["table"]) if job.get("table") else (pd.DataFrame(), pd.DataFrame())
    tables = {k: load_table(v)[0] for k, v in (job.get("extra") or {}).items()}
    g = {"__name__": "__main__", "__builtins__": builtins, "pd": pd, "np": np, "df": df, "raw": raw, "tables": tables}
    try:
        exec(prog, g)
    except SystemExit as e:
        if e.code not in (None, 0):
            report({"kind": "exit", "code": e.code if isinstance(e.code, int) else 1})
    except BaseException as e:
        line, tb = 0, e.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == "<program>":
                line = tb.tb_lineno
            tb = tb.tb_next
        try:
            traceback.print_exception(type(e), e, e.__traceback__.tb_next)
        except BaseException:
            pass
        report({"kind": "exception", "type": type(e).__name__, "line": line,
                "memory": isinstance(e, MemoryError) or (isinstance(e, OSError) and e.errno == 12)})
    try:
        sys.stdout.flush()
    except BaseException as e:
        report({"kind": "exception", "type": type(e).__name__, "line": 0, "detail": "flushing stdout: %s" % e})
    out = {"kind": "ok"}
    if job.get("return_table"):
        try:
            out["table"] = dump_table(g.get("df"))
        except BaseException as e:
            report({"kind": "exception", "type": type(e).__name__, "line": 0, "detail": "returning df: %s" % e})
    report(out)


_tabler1_main()
