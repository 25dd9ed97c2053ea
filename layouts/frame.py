# The pandas side of the table bridge (layouts/frame.go embeds this file).
#
# load_table(obj) turns the JSON form of a layouts.Table into (df, raw):
#   - one header level gives plain column names; several give a MultiIndex;
#   - a column is numeric when every non-empty cell is a number by the rule of
#     layouts.ParseNumber (optional sign, digits with thousands separators only
#     in groups of three, optional fraction and exponent; no currency or
#     percent signs) and at least one cell is non-empty. A numeric column with
#     no empty cell, no fraction or exponent, and every value within int64
#     becomes int64; otherwise
#     float64 with empty cells as NaN. Every other column stays str ("" for
#     empty cells);
#   - raw is a DataFrame of the original strings with the same columns.
# dump_table(df) turns a DataFrame (or Series) back into that JSON form:
#   - a non-default index (named, or not 0..n-1) becomes leading columns,
#     counted in row_header_cols;
#   - NaN and None become "", integral floats are written without ".0",
#     other floats with repr.
import math
import re

import numpy as np
import pandas as pd

# re.ASCII: \d must mean 0-9 as in Go's ParseNumber, not any Unicode digit.
_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][+-]?\d+)?$", re.ASCII)
_MANTISSA = re.compile(r"^[+-]?[\d,]*\.?\d", re.ASCII)


def _is_number(s):
    # A digit must come before any exponent: "e5" matches _NUMBER but is
    # not a number (float() rejects it, and so does ParseNumber).
    s = s.strip()
    return bool(s) and bool(_NUMBER.match(s)) and bool(_MANTISSA.match(s))


def _convert(cells):
    nonempty = [c for c in cells if c.strip() != ""]
    if not nonempty or not all(_is_number(c) for c in nonempty):
        return None
    vals = [c.strip().replace(",", "") for c in cells]
    if len(nonempty) == len(cells) and not any(("." in v or "e" in v or "E" in v) for v in vals):
        ints = [int(v) for v in vals]
        # Beyond int64 pandas would raise OverflowError: such a column is
        # float64 instead.
        if all(-(2**63) <= i < 2**63 for i in ints):
            return pd.Series(ints, dtype="int64")
    return pd.Series([float(v) if v != "" else np.nan for v in vals], dtype="float64")


def _columns(header):
    if len(header) == 1:
        return pd.Index(list(header[0]), dtype="object")
    return pd.MultiIndex.from_arrays([list(level) for level in header])


def load_table(obj):
    header = obj.get("header") or [[]]
    rows = obj.get("rows") or []
    ncols = len(header[0])
    cols = _columns(header)
    raw = pd.DataFrame([list(r) for r in rows], columns=cols, dtype="object") if rows else pd.DataFrame(columns=cols, dtype="object")
    data = {}
    for c in range(ncols):
        cells = [r[c] for r in rows]
        conv = _convert(cells)
        data[c] = conv if conv is not None else pd.Series(cells, dtype="object")
    df = pd.DataFrame(data)
    df.columns = cols
    if not rows:
        df = pd.DataFrame(columns=cols)
    return df, raw


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "True" if v else "False"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return ""
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        if f.is_integer() and abs(f) < 1e15:
            return str(int(f))
        return repr(f)
    try:
        if pd.isna(v):
            return ""
    except (TypeError, ValueError):
        pass
    return str(v)


def _default_index(idx):
    return isinstance(idx, pd.RangeIndex) and idx.name is None and idx.start == 0 and idx.step == 1


def dump_table(df):
    if isinstance(df, pd.Series):
        df = df.to_frame()
    if not isinstance(df, pd.DataFrame):
        raise TypeError("df must be a pandas DataFrame, not %s" % type(df).__name__)
    row_header_cols = 0
    if not _default_index(df.index):
        row_header_cols = df.index.nlevels
        df = df.reset_index()
    cols = df.columns
    if isinstance(cols, pd.MultiIndex):
        header = [[_cell(v) for v in cols.get_level_values(i)] for i in range(cols.nlevels)]
    else:
        header = [[_cell(v) for v in cols]]
    rows = [[_cell(v) for v in row] for row in df.itertuples(index=False, name=None)]
    out = {"header": header, "rows": rows}
    if row_header_cols:
        out["row_header_cols"] = row_header_cols
    return out
