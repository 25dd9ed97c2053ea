package eval

import (
	"reflect"
	"strings"
	"testing"
)

func TestAnswerItems(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  Che Fu ", []string{"Che Fu"}},
		{`["a", "b"]`, []string{"a", "b"}},
		{`[1, 2.5]`, []string{"1", "2.5"}},
		{`['Italy', "it's", 'a\'b']`, []string{"Italy", "it's", "a'b"}},
		{`[3, 'x']`, []string{"3", "x"}},
		{`[unclosed`, []string{"[unclosed"}},
		{`['a' 'b']`, []string{"['a' 'b']"}},
		{`[]`, []string{}},
	} {
		got := AnswerItems(tc.in)
		if len(got) == 0 && len(tc.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("AnswerItems(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzAnswerItems(f *testing.F) {
	for _, s := range []string{"", "x", `["a"]`, `['a', 1]`, `[1,`, `['\'`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		items := AnswerItems(s)
		if ts := strings.TrimSpace(s); ts != "" && !strings.HasPrefix(ts, "[") && len(items) != 1 {
			t.Errorf("AnswerItems(%q) lost a non-empty answer", s)
		}
	})
}

func TestTATQAScaleSplit(t *testing.T) {
	for _, tc := range []struct {
		in    string
		items []string
		scale string
	}{
		{"12 million", []string{"12"}, "million"},
		{"12.5%", []string{"12.5%"}, "percent"},
		{"the board", []string{"the board"}, ""},
		{"12", []string{"12"}, ""},
	} {
		items, scale := tatqaScale([]string{tc.in})
		if !reflect.DeepEqual(items, tc.items) || scale != tc.scale {
			t.Errorf("tatqaScale(%q) = %q, %q; want %q, %q", tc.in, items, scale, tc.items, tc.scale)
		}
	}
}
