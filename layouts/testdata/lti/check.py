# Independent checker of LTI programs (used by the layouts cross-check test
# and cmd/tabler1's gen test): run each program on its source table with
# pandas and print the resulting table, so that Go can compare it with the
# expected target under layouts.EqualCanonical.
#
# usage: python3 check.py BRIDGE.py CASES.jsonl
#   BRIDGE.py    layouts/frame.py (load_table, dump_table)
#   CASES.jsonl  lines with "id", "source" (Table JSON) and "program"
# prints one JSON line per case: {"id", "table"} or {"id", "error"}.
import json
import sys
import warnings

warnings.simplefilter("ignore")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

bridge = {}
with open(sys.argv[1], encoding="utf-8") as fh:
    exec(compile(fh.read(), sys.argv[1], "exec"), bridge)

# Cases often share a source table: load each once, hand out copies.
loaded = {}

with open(sys.argv[2], encoding="utf-8") as fh:
    for line in fh:
        if not line.strip():
            continue
        case = json.loads(line)
        out = {"id": case["id"]}
        try:
            key = json.dumps(case["source"], sort_keys=True)
            if key not in loaded:
                loaded[key] = bridge["load_table"](case["source"])[0]
            ns = {"df": loaded[key].copy(), "pd": pd, "np": np}
            exec(compile(case["program"], "<program>", "exec"), ns)
            out["table"] = bridge["dump_table"](ns["df"])
        except Exception as e:  # report, keep checking the rest
            out["error"] = "%s: %s" % (type(e).__name__, e)
        sys.stdout.write(json.dumps(out) + "\n")
