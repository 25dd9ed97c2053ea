package answer

import "strings"

// SplitAnswer splits one answer string into its items, the way a program's
// printed answer or a text answer lists several: a printed Python or JSON
// list ("['a', 'b']", "[1, 2]") gives its elements with their quotes
// removed; otherwise items are separated by "|"; otherwise the whole
// (trimmed) string is one item. Commas outside a list never split, since
// they occur inside single answers ("1,000", "Washington, D.C."). An empty
// or blank string has no items.
func SplitAnswer(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	if items, ok := splitListLiteral(s); ok {
		return items
	}
	if strings.Contains(s, "|") {
		var items []string
		for _, it := range strings.Split(s, "|") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, it)
			}
		}
		return items
	}
	return []string{s}
}

// splitListLiteral reads "[e1, e2, ...]" where each element is a quoted
// string ('...' or "...", backslash escapes honoured) or a bare token
// without brackets or quotes. Anything else is not a list literal.
func splitListLiteral(s string) ([]string, bool) {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, false
	}
	body := strings.TrimSpace(s[1 : len(s)-1])
	if body == "" {
		return []string{}, true
	}
	var items []string
	for i := 0; i < len(body); {
		for i < len(body) && body[i] == ' ' {
			i++
		}
		var item string
		if i < len(body) && (body[i] == '\'' || body[i] == '"') {
			q := body[i]
			var b strings.Builder
			j := i + 1
			for ; j < len(body) && body[j] != q; j++ {
				if body[j] == '\\' && j+1 < len(body) {
					j++
				}
				b.WriteByte(body[j])
			}
			if j >= len(body) {
				return nil, false // unterminated quote
			}
			item, i = b.String(), j+1
		} else {
			j := i
			for j < len(body) && body[j] != ',' {
				if strings.ContainsRune("[]'\"", rune(body[j])) {
					return nil, false
				}
				j++
			}
			item, i = strings.TrimSpace(body[i:j]), j
			if item == "" {
				return nil, false
			}
		}
		items = append(items, item)
		for i < len(body) && body[i] == ' ' {
			i++
		}
		if i < len(body) {
			if body[i] != ',' {
				return nil, false
			}
			i++
			if strings.TrimSpace(body[i:]) == "" {
				break // trailing comma, as Python allows
			}
		}
	}
	return items, true
}
