package trainer

import (
	"fmt"
	"strings"

	"tabler1/episode"
	"tabler1/layouts"
)

// CompactFormat is the short prompt and completion grammar of the smoke run:
// a byte-level tiny model pays for every prompt byte, so the table is shown
// as pipe-separated lines (first PreviewRows rows) and the question follows
// on one line. A completion is either a program,
//
//	```python
//	print(df['age'].max())
//	```
//
// or a text answer, "Answer: 42". Programs get the full table as df.
type CompactFormat struct {
	PreviewRows int
}

const (
	fenceOpen  = "```python\n"
	fenceClose = "\n```"
	answerTag  = "Answer:"
)

// Prompt implements Format. The compact prompt is the same for every
// paradigm: the tiny model is taught one grammar for both.
func (f CompactFormat) Prompt(it Item, _ episode.Paradigm) string {
	var b strings.Builder
	if it.Task == episode.TaskLTI {
		b.WriteString("T:\n")
		writeCompact(&b, it.Table, f.rows())
		b.WriteString("T':\n")
		writeCompact(&b, it.Target, f.rows())
		b.WriteString("Write df -> T'.\n")
		return b.String()
	}
	writeCompact(&b, it.Table, f.rows())
	if it.Table != nil && len(it.Table.Rows) > f.rows() {
		fmt.Fprintf(&b, "(%d rows)\n", len(it.Table.Rows))
	}
	b.WriteString("Q: ")
	b.WriteString(it.Question)
	b.WriteString("\n")
	return b.String()
}

func (f CompactFormat) rows() int {
	if f.PreviewRows > 0 {
		return f.PreviewRows
	}
	return 10
}

func writeCompact(b *strings.Builder, t *layouts.Table, n int) {
	if t == nil {
		return
	}
	b.WriteString(t.Preview(n).Table.Compact())
}

// Target implements Format.
func (CompactFormat) Target(it Item) string {
	if it.GoldProgram == "" {
		return ""
	}
	return fenceOpen + it.GoldProgram + fenceClose
}

// Stop implements Format. None: the SFT targets end with the closing fence
// and EOS, so a well-formed completion stops by itself and keeps its fence
// (a stop string would be cut from the text and the tokens).
func (CompactFormat) Stop() []string { return nil }

// Parse implements Format. A fenced block is a program (the closing fence
// may be missing when sampling stopped on it); otherwise the text after the
// last "Answer:" is a text answer; anything else is invalid.
func (CompactFormat) Parse(c string, _ episode.Paradigm) episode.Parse {
	if i := strings.Index(c, "```python"); i >= 0 {
		code := c[i+len("```python"):]
		if j := strings.Index(code, "```"); j >= 0 {
			code = code[:j]
		}
		code = strings.Trim(code, "\n")
		if strings.TrimSpace(code) == "" {
			return episode.Parse{Paradigm: episode.ParadigmInvalid}
		}
		closed := strings.Contains(c[i+len("```python"):], "```")
		return episode.Parse{Paradigm: episode.ParadigmProgram, Code: code, FormatOK: closed}
	}
	if i := strings.LastIndex(c, answerTag); i >= 0 {
		a := strings.TrimSpace(c[i+len(answerTag):])
		if j := strings.IndexByte(a, '\n'); j >= 0 {
			a = strings.TrimSpace(a[:j])
		}
		if a != "" {
			return episode.Parse{Paradigm: episode.ParadigmText, Answer: a, FormatOK: true}
		}
	}
	return episode.Parse{Paradigm: episode.ParadigmInvalid}
}
