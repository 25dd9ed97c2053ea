package eval

import (
	"encoding/json"
	"strings"
)

// AnswerItems splits an answer as a model writes it into items: a JSON list
// (["a", "b"]) or a Python list literal as print() writes it (['a', 'b'],
// [1, 2.5]) gives its items, anything else is one item. Empty text is no
// item.
func AnswerItems(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return []string{s}
	}
	var v []any
	if json.Unmarshal([]byte(s), &v) == nil {
		out := make([]string, len(v))
		for i, x := range v {
			if str, ok := x.(string); ok {
				out[i] = str
			} else {
				b, _ := json.Marshal(x)
				out[i] = string(b)
			}
		}
		return out
	}
	if items, ok := pyListItems(s[1 : len(s)-1]); ok {
		return items
	}
	return []string{s}
}

// pyListItems reads the inside of a Python list repr: quoted strings
// (single or double, backslash escapes) and bare scalars separated by
// commas. ok is false for anything it cannot read.
func pyListItems(s string) ([]string, bool) {
	var out []string
	i := 0
	skip := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	for {
		skip()
		if i >= len(s) {
			return out, true
		}
		if q := s[i]; q == '\'' || q == '"' {
			var b strings.Builder
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' && i+1 < len(s) {
					switch s[i+1] {
					case 'n':
						b.WriteByte('\n')
					case 't':
						b.WriteByte('\t')
					default:
						b.WriteByte(s[i+1])
					}
					i += 2
					continue
				}
				if c == q {
					closed = true
					i++
					break
				}
				b.WriteByte(c)
				i++
			}
			if !closed {
				return nil, false
			}
			out = append(out, b.String())
		} else {
			j := strings.IndexByte(s[i:], ',')
			if j < 0 {
				j = len(s) - i
			}
			item := strings.TrimSpace(s[i : i+j])
			if item == "" || strings.ContainsAny(item, "'\"[]") {
				return nil, false
			}
			out = append(out, item)
			i += j
		}
		skip()
		if i >= len(s) {
			return out, true
		}
		if s[i] != ',' {
			return nil, false
		}
		i++
	}
}

// tatqaScale splits a TAT-QA answer's trailing scale word ("12 million" →
// "12", "million"); an answer ending in "%" has scale percent and is kept
// whole, which is how tatqa_eval reads "12.5%" under that scale.
func tatqaScale(items []string) ([]string, string) {
	if len(items) != 1 {
		return items, ""
	}
	a := strings.TrimSpace(items[0])
	if strings.HasSuffix(a, "%") && tatIsNumber(a) {
		return items, "percent"
	}
	f := strings.Fields(a)
	if len(f) == 2 && tatIsNumber(f[0]) {
		switch w := strings.ToLower(f[1]); w {
		case "thousand", "million", "billion", "percent":
			return []string{f[0]}, w
		}
	}
	return items, ""
}
