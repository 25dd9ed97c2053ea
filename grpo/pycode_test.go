package grpo

import (
	"strings"
	"testing"
)

func TestCodeLength(t *testing.T) {
	for _, c := range []struct {
		code string
		want int
	}{
		{"print(df)", 9},
		{"print( df )  # the table\n\n", 9},
		{"print('a b')", 11}, // the space inside the string is whitespace too
		{"print(f'{df}')", 14},
		{"# only a comment", 0},
		{"", 0},
		{"x = '''doc # not a comment'''", len("x='''doc#notacomment'''")},
	} {
		if got := codeLength(c.code); got != c.want {
			t.Errorf("codeLength(%q) = %d, want %d", c.code, got, c.want)
		}
	}
}

func TestPyTokens(t *testing.T) {
	toks := pyTokens("s = rb'x\\'y' + f\"{df['a']!r:>{w}} {{lit}}\" # c\nn = 1.5e-3")
	var kinds []string
	for _, t := range toks {
		kinds = append(kinds, t.text)
	}
	got := strings.Join(kinds, " ")
	want := `s = rb'x\'y' + f"{df['a']!r:>{w}} {{lit}}" df [ 'a' ] ! r : > { w } n = 1.5e-3`
	if got != want {
		t.Errorf("tokens\n got %s\nwant %s", got, want)
	}
	if !referencesAny(pyTokens("print(f'{df.shape}')"), []string{"df"}) {
		t.Error("df in an f-string field not seen")
	}
	if referencesAny(pyTokens("print(f'{{df}}')"), []string{"df"}) {
		t.Error("escaped braces read as a field")
	}
	calls := printCalls(pyTokens("print('a', sep='')\nlog.print(x)\nprint(len(df), end='\\n')"))
	if len(calls) != 2 || !literalOnly(calls[0]) || literalOnly(calls[1]) {
		t.Errorf("print calls %v", calls)
	}
	if literalOnly(pyTokens("a == 'b'")) {
		t.Error("comparison of a name read as keyword argument")
	}
	if !literalOnly(pyTokens("'x'.upper(), 3 * 2, None")) {
		t.Error("literal expression not literal")
	}
}

func FuzzPyTokens(f *testing.F) {
	for _, s := range []string{goodCode, "print(f'{df[\"a\"]}')", "'''unterminated", "f'{", "x = 1e", "\\", "#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		toks := pyTokens(code)
		n := codeLength(code)
		if n < 0 || n > len([]rune(code)) {
			t.Fatalf("codeLength %d for %d runes", n, len([]rune(code)))
		}
		for _, args := range printCalls(toks) {
			literalOnly(args)
		}
		in := program(code, ok(code))
		in.Perturbed = ok(code)
		r := ComputeReward(DefaultRewardConfig(), in)
		if r.Total != r.Components.Sum() {
			t.Fatalf("total %v != components %v", r.Total, r.Components.Sum())
		}
	})
}
