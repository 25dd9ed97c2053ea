package grpo

import (
	"strings"
	"unicode"
)

// This file is a token-level reading of Python source, enough to measure a
// program and to see what it refers to and prints. It is deliberately not a
// parser: it never fails, and on malformed code (which the compile reward
// already catches) it gives a best-effort reading.

type pyTokKind int

const (
	tokName pyTokKind = iota
	tokNumber
	tokString
	tokOp
)

type pyTok struct {
	kind pyTokKind
	text string
	// inner marks the tokens of an f-string field, which repeat text the
	// string token already holds.
	inner bool
}

// pyTokens splits Python source into names, numbers, strings and operator
// characters; comments and whitespace are dropped. The expressions inside
// an f-string's {...} are tokenised too and follow the string's token, so a
// name used only in an f-string still counts as used.
func pyTokens(code string) []pyTok {
	rs := []rune(code)
	var out []pyTok
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case r == '#':
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
		case unicode.IsSpace(r) || r == '\\':
			i++
		case r == '\'' || r == '"':
			var toks []pyTok
			toks, i = pyString(rs, i, "")
			out = append(out, toks...)
		case unicode.IsLetter(r) || r == '_':
			j := i
			for j < len(rs) && (unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j]) || rs[j] == '_') {
				j++
			}
			word := string(rs[i:j])
			if j < len(rs) && (rs[j] == '\'' || rs[j] == '"') && isStringPrefix(word) {
				var toks []pyTok
				toks, i = pyString(rs, j, strings.ToLower(word))
				out = append(out, toks...)
				continue
			}
			out = append(out, pyTok{kind: tokName, text: word})
			i = j
		case unicode.IsDigit(r) || (r == '.' && i+1 < len(rs) && unicode.IsDigit(rs[i+1])):
			j := i
			for j < len(rs) {
				c := rs[j]
				if unicode.IsDigit(c) || unicode.IsLetter(c) || c == '_' || c == '.' {
					j++
					continue
				}
				if (c == '+' || c == '-') && (rs[j-1] == 'e' || rs[j-1] == 'E') {
					j++
					continue
				}
				break
			}
			out = append(out, pyTok{kind: tokNumber, text: string(rs[i:j])})
			i = j
		default:
			out = append(out, pyTok{kind: tokOp, text: string(r)})
			i++
		}
	}
	return out
}

func isStringPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "r", "u", "b", "f", "br", "rb", "fr", "rf":
		return true
	}
	return false
}

// pyString reads the string literal starting at the quote rs[i] and
// returns its token (text includes prefix and quotes) followed by the
// tokens of any f-string expressions, and the index after it.
func pyString(rs []rune, i int, prefix string) ([]pyTok, int) {
	q := rs[i]
	triple := i+2 < len(rs) && rs[i+1] == q && rs[i+2] == q
	start := i
	if triple {
		i += 3
	} else {
		i++
	}
	bodyStart := i
	bodyEnd := len(rs)
	for i < len(rs) {
		c := rs[i]
		if c == '\\' {
			i += 2
			continue
		}
		if !triple && c == '\n' {
			bodyEnd = i // unterminated: the string ends with the line
			break
		}
		if c == q && (!triple || (i+2 < len(rs) && rs[i+1] == q && rs[i+2] == q)) {
			bodyEnd = i
			if triple {
				i += 3
			} else {
				i++
			}
			break
		}
		i++
	}
	if i > len(rs) {
		i = len(rs)
	}
	if bodyEnd > len(rs) {
		bodyEnd = len(rs)
	}
	toks := []pyTok{{kind: tokString, text: prefix + string(rs[start:i])}}
	if strings.Contains(prefix, "f") {
		for _, expr := range fStringExprs(rs[bodyStart:bodyEnd]) {
			for _, t := range pyTokens(expr) {
				t.inner = true
				toks = append(toks, t)
			}
		}
	}
	return toks, i
}

// fStringExprs returns the replacement fields of an f-string body: the
// text inside each top-level {...}, with "{{" and "}}" being literal braces.
func fStringExprs(body []rune) []string {
	var exprs []string
	for i := 0; i < len(body); i++ {
		if body[i] != '{' {
			continue
		}
		if i+1 < len(body) && body[i+1] == '{' {
			i++
			continue
		}
		depth, j := 1, i+1
		for ; j < len(body) && depth > 0; j++ {
			switch body[j] {
			case '{':
				depth++
			case '}':
				depth--
			}
		}
		end := j - 1
		if depth > 0 {
			end = len(body)
		}
		exprs = append(exprs, string(body[i+1:end]))
		i = j - 1
	}
	return exprs
}

// codeLength is the program length the short-code penalty measures: the
// characters of its tokens, that is every character outside comments and
// whitespace (string literals count in full).
func codeLength(code string) int {
	n := 0
	for _, t := range pyTokens(code) {
		if t.inner {
			continue
		}
		for _, r := range t.text {
			if !unicode.IsSpace(r) {
				n++
			}
		}
	}
	return n
}

// referencesAny reports whether a bare name (not an attribute after ".")
// in names occurs in the tokens.
func referencesAny(toks []pyTok, names []string) bool {
	for i, t := range toks {
		if t.kind != tokName || (i > 0 && toks[i-1].kind == tokOp && toks[i-1].text == ".") {
			continue
		}
		for _, n := range names {
			if t.text == n {
				return true
			}
		}
	}
	return false
}

// printCalls returns the argument tokens of every call of the builtin
// print (a bare name "print" followed by "(").
func printCalls(toks []pyTok) [][]pyTok {
	var calls [][]pyTok
	for i := 0; i+1 < len(toks); i++ {
		t := toks[i]
		if t.kind != tokName || t.text != "print" || toks[i+1].text != "(" || toks[i+1].kind != tokOp ||
			(i > 0 && toks[i-1].kind == tokOp && toks[i-1].text == ".") {
			continue
		}
		depth, j := 1, i+2
		for ; j < len(toks) && depth > 0; j++ {
			if toks[j].kind == tokOp {
				switch toks[j].text {
				case "(", "[", "{":
					depth++
				case ")", "]", "}":
					depth--
				}
			}
		}
		end := j - 1
		if depth > 0 {
			end = len(toks)
		}
		calls = append(calls, toks[i+2:end])
	}
	return calls
}

// literalOnly reports whether print arguments are built from literals
// alone: strings, numbers, True/False/None, operators, keyword names
// (sep=, end=) and attribute names after "." ("a".upper()); any other name
// is a variable the output could depend on.
func literalOnly(args []pyTok) bool {
	for i, t := range args {
		if t.kind != tokName {
			continue
		}
		switch {
		case t.text == "True" || t.text == "False" || t.text == "None":
		case i > 0 && args[i-1].kind == tokOp && args[i-1].text == ".":
		case i+1 < len(args) && args[i+1].kind == tokOp && args[i+1].text == "=" &&
			(i+2 >= len(args) || args[i+2].text != "="):
		default:
			return false
		}
	}
	return true
}
