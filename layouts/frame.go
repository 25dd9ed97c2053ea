package layouts

import _ "embed"

// PandasBridge is Python source that defines load_table(obj) -> (df, raw) and
// dump_table(df) -> obj, where obj is the JSON form of a Table. It is the one
// definition of how a Table becomes a pandas DataFrame (MultiIndex columns
// for multi-level headers; numeric-looking columns converted by the rule of
// ParseNumber) and back. The sandbox's workers and the LTI cross-check both
// execute it; see frame.py for the rules.
//
//go:embed frame.py
var PandasBridge string
