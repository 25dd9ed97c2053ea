package trainer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A distill output file is read as SFT items with the record's prompt and
// completion; a broken one is refused with its line.
func TestLoadSourceDistilled(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, body string
		n          int
		err        string
	}{
		{"records", `{"id":"u1","question_id":"q1","bench":"wtq","prompt":"P1","completion":"C1","program":"print(1)","answer":"1","gold":["1"]}` + "\n\n" +
			`{"id":"u2","question_id":"q1","bench":"wtq","prompt":"P1","completion":"C2","answer":"1"}` + "\n", 2, ""},
		{"no completion", `{"id":"u1","prompt":"P","completion":""}` + "\n", 0, ":1: a distilled record needs a prompt and a completion"},
		{"bad json later", `{"id":"u1","prompt":"P","completion":"C"}` + "\n{\n", 0, ":2: not a distilled record"},
		{"latin-1", "{\"id\":\"u1\",\"prompt\":\"caf\xe9\",\"completion\":\"C\"}\n", 0, ":1: invalid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".jsonl")
			if err := os.WriteFile(p, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			items, err := LoadSource(SourceConfig{Path: p})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || len(items) != tc.n {
				t.Fatalf("%d items, %v", len(items), err)
			}
			if items[0].ID != "wtq:q1" || items[1].ID != "wtq:q1#2" {
				t.Errorf("ids %q %q", items[0].ID, items[1].ID)
			}
			p0, c0 := sftPair(CompactFormat{}, items[0])
			if p0 != "P1" || c0 != "C1" {
				t.Errorf("sft pair %q %q, want the record's prompt and completion", p0, c0)
			}
		})
	}
}

// LoadSource never panics on a file that looks distilled, and every item
// it returns has a prompt and a completion.
func FuzzLoadDistilled(f *testing.F) {
	f.Add([]byte(`{"id":"u1","question_id":"q1","bench":"wtq","prompt":"P","completion":"C"}` + "\n"))
	f.Add([]byte(`{"prompt":"P","completion":"C"}` + "\n{\"prompt\":1}\n"))
	f.Add([]byte("{\"prompt\":\"\xff\",\"completion\":\"C\"}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "d.jsonl")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		items, _, err := loadDistilled(SourceConfig{Path: p})
		for _, it := range items {
			if err == nil && (it.Prompt == "" || it.Completion == "") {
				t.Fatalf("item %+v without a prompt or completion", it)
			}
		}
	})
}
