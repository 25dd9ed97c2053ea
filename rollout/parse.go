package rollout

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"tabler1/episode"
)

// Which code block is the program when a completion has several.
const (
	BlockLast  = "last"  // the default: models often sketch before the final program
	BlockFirst = "first" //
	BlockJoin  = "join"  // all blocks, in order, as one program
)

// ParseOptions configures Parse.
type ParseOptions struct {
	// Block picks the program among several code blocks: last (default),
	// first or join.
	Block string `yaml:"block" json:"block,omitempty"`
	// Expect is the paradigm the prompt asked for; empty for the mixed
	// prompt. A completion in the other paradigm is parsed but not
	// format-valid.
	Expect episode.Paradigm `yaml:"-" json:"expect,omitempty"`
}

type block struct {
	code     string
	lang     string
	end      int // byte offset just past the block (its closing fence, or the text's end)
	unclosed bool
}

var (
	// A final answer line: "Answer: x", "Final answer: x", "**Answer:** x".
	answerLine = regexp.MustCompile(`(?im)^[ \t>*_#-]*(?:final[ \t]+)?answer[ \t]*(?:\*\*)?[ \t]*[:：][ \t]*(?:\*\*)?[ \t]*(.*?)[ \t*]*$`)
	boxedStart = regexp.MustCompile(`\\boxed\s*\{`)
)

// Parse reads a completion: its program, its text answer, its paradigm and
// whether its format is valid. finish is the server's finish reason.
func Parse(text, finish string, opts ParseOptions) episode.Parse {
	p := episode.Parse{Truncated: finish == "length"}
	blocks := codeBlocks(text)
	p.Blocks = len(blocks)
	var prog *block
	if len(blocks) > 0 {
		switch opts.Block {
		case BlockFirst:
			prog = &blocks[0]
		case BlockJoin:
			parts := make([]string, len(blocks))
			for i, b := range blocks {
				parts[i] = b.code
			}
			last := blocks[len(blocks)-1]
			prog = &block{code: strings.Join(parts, "\n"), end: last.end, unclosed: last.unclosed}
		default:
			prog = &blocks[len(blocks)-1]
		}
		p.Unclosed = blocks[len(blocks)-1].unclosed
	}
	// A text answer counts only after the last code block: an "Answer:"
	// inside or before the program is not the final word.
	tail := text
	if len(blocks) > 0 {
		tail = text[blocks[len(blocks)-1].end:]
	}
	ans, hasAns := textAnswer(tail)
	switch {
	case prog != nil && strings.TrimSpace(prog.code) != "" && (!hasAns || opts.Expect == episode.ParadigmProgram):
		p.Paradigm = episode.ParadigmProgram
		p.Code = strings.TrimSpace(prog.code) + "\n"
	case hasAns:
		p.Paradigm = episode.ParadigmText
		p.Answer = ans
		p.Answers = splitAnswer(ans)
	case prog != nil:
		p.Paradigm = episode.ParadigmProgram // an empty block: a program, not a valid one
	default:
		p.Paradigm = episode.ParadigmInvalid
	}
	p.FormatOK, p.Reason = validity(p, opts.Expect)
	return p
}

func validity(p episode.Parse, expect episode.Paradigm) (bool, string) {
	switch {
	case p.Paradigm == episode.ParadigmInvalid:
		return false, "neither a code block nor a final answer"
	case p.Truncated:
		return false, "truncated at max_tokens"
	case expect != "" && p.Paradigm != expect:
		return false, fmt.Sprintf("answered with %s, the prompt asked for %s", p.Paradigm, expect)
	case p.Paradigm == episode.ParadigmProgram && p.Code == "":
		return false, "empty code block"
	case p.Paradigm == episode.ParadigmProgram && p.Unclosed:
		return false, "code block not closed"
	case p.Paradigm == episode.ParadigmText && strings.TrimSpace(p.Answer) == "":
		return false, "empty answer"
	}
	return true, ""
}

// codeBlocks finds ``` fenced blocks whose language is Python or unnamed. A
// block left open runs to the end of the text.
func codeBlocks(text string) []block {
	var out []block
	pos := 0
	for pos < len(text) {
		i := strings.Index(text[pos:], "```")
		if i < 0 {
			break
		}
		open := pos + i
		nl := strings.IndexByte(text[open:], '\n')
		if nl < 0 {
			break // a fence on the last line with nothing after it
		}
		lang := strings.ToLower(strings.TrimSpace(text[open+3 : open+nl]))
		body := open + nl + 1
		closeRel := closingFence(text[body:])
		b := block{lang: lang}
		if closeRel < 0 {
			b.code, b.end, b.unclosed = text[body:], len(text), true
		} else {
			b.code = text[body : body+closeRel]
			b.end = body + closeRel + 3
		}
		pos = b.end
		switch lang {
		case "", "python", "py", "python3", "pandas":
			out = append(out, b)
		}
	}
	return out
}

// closingFence is the offset of the ``` that closes a block (at the start of
// a line, or right after code on the same line), or -1.
func closingFence(s string) int { return strings.Index(s, "```") }

// textAnswer finds the final answer in s: the last "Answer:" line, else the
// last \boxed{...}, else a JSON list on the last non-empty line.
func textAnswer(s string) (string, bool) {
	if m := answerLine.FindAllStringSubmatch(s, -1); len(m) > 0 {
		a := strings.TrimSpace(m[len(m)-1][1])
		if b, ok := lastBoxed(a); ok {
			a = b
		}
		return a, true
	}
	if b, ok := lastBoxed(s); ok {
		return b, true
	}
	lines := strings.Split(strings.TrimSpace(s), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if strings.HasPrefix(last, "[") && strings.HasSuffix(last, "]") {
		var v []any
		if json.Unmarshal([]byte(last), &v) == nil {
			return last, true
		}
	}
	return "", false
}

// lastBoxed returns the content of the last \boxed{...}, braces balanced.
func lastBoxed(s string) (string, bool) {
	locs := boxedStart.FindAllStringIndex(s, -1)
	for k := len(locs) - 1; k >= 0; k-- {
		start := locs[k][1]
		depth := 1
		for i := start; i < len(s); i++ {
			switch s[i] {
			case '{':
				depth++
			case '}':
				depth--
				if depth == 0 {
					return strings.TrimSpace(s[start:i]), true
				}
			}
		}
	}
	return "", false
}

// splitAnswer turns a JSON list answer into its items (as strings) and any
// other answer into a one-item list.
func splitAnswer(a string) []string {
	a = strings.TrimSpace(a)
	if strings.HasPrefix(a, "[") && strings.HasSuffix(a, "]") {
		var v []any
		if json.Unmarshal([]byte(a), &v) == nil {
			out := make([]string, 0, len(v))
			for _, x := range v {
				switch x := x.(type) {
				case string:
					out = append(out, x)
				case nil:
					out = append(out, "")
				default:
					b, _ := json.Marshal(x)
					out = append(out, string(b))
				}
			}
			return out
		}
	}
	return []string{a}
}
