package eval

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
)

// The native loaders must give the same examples as the uniform JSONL for
// the same ids: question, answers, label, paragraphs, table and meta.
func TestNativeMatchesUniform(t *testing.T) {
	splits := map[string]string{WTQ: "pristine-seen-tables", TabFact: "val", HiTab: "dev", AITQA: "", FeTaQA: "dev", TableBench: "", TATQA: "dev"}
	for _, bench := range Benchmarks() {
		t.Run(bench, func(t *testing.T) {
			uni := loadBench(t, bench)
			nat, err := LoadNative(bench, filepath.Join(sharedData(t), "raw", bench), splits[bench])
			if err != nil {
				t.Fatal(err)
			}
			nm := byID(nat)
			bad := 0
			for i := range uni {
				u := &uni[i]
				n := nm[u.ID]
				if n == nil {
					t.Errorf("%s: in the uniform JSONL, not loaded from the native files", u.ID)
					continue
				}
				if diff := compareExamples(u, n); diff != "" {
					bad++
					if bad <= 5 {
						t.Errorf("%s: %s", u.ID, diff)
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d examples differ", bad, len(uni))
			}
			t.Logf("%s: %d uniform examples, %d native, all uniform ones equal", bench, len(uni), len(nat))
		})
	}
}

func compareExamples(u, n *Example) string {
	switch {
	case u.Question != n.Question:
		return "question " + q(u.Question) + " vs " + q(n.Question)
	case !reflect.DeepEqual(u.Answer, n.Answer):
		return "answer " + q(u.Answer) + " vs " + q(n.Answer)
	case u.Label != n.Label:
		return "label"
	case u.Split != n.Split || u.Task != n.Task || u.Benchmark != n.Benchmark:
		return "split/task/benchmark " + q([]string{u.Split, u.Task, n.Split, n.Task})
	case len(u.Paragraphs) != len(n.Paragraphs) || (len(u.Paragraphs) > 0 && !reflect.DeepEqual(u.Paragraphs, n.Paragraphs)):
		return "paragraphs"
	case !reflect.DeepEqual(u.Table, n.Table):
		return "table " + q(u.Table) + "\nvs\n" + q(n.Table)
	}
	for k, nv := range n.Meta {
		uv, ok := u.Meta[k]
		if !ok {
			return "meta key " + k + " not in the uniform record"
		}
		if q(uv) != q(nv) {
			return "meta " + k + ": " + q(uv) + " vs " + q(nv)
		}
	}
	if len(u.Meta) != len(n.Meta) {
		return "meta keys " + q(keys(u.Meta)) + " vs " + q(keys(n.Meta))
	}
	return ""
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// q renders v as JSON, with json.Number and float64 compared by value.
func q(v any) string {
	b, _ := json.Marshal(v)
	var x any
	if json.Unmarshal(b, &x) == nil {
		b, _ = json.Marshal(x)
	}
	return string(b)
}

// The flat HiTab header (not part of layouts.Table, which keeps the levels)
// must match the uniform sample's too.
func TestHiTabFlatHeader(t *testing.T) {
	root := filepath.Join(sharedData(t), "raw", HiTab)
	seen := map[string]bool{}
	for _, rec := range readJSONLines(t, filepath.Join(sharedData(t), "hitab.dev.jsonl")) {
		tid := rec["meta"].(map[string]any)["table_id"].(string)
		if seen[tid] {
			continue
		}
		seen[tid] = true
		tbl := rec["table"].(map[string]any)
		want := stringList(tbl["header"])
		ut, err := hitabTable(root, tid)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ut.Header, want) {
			t.Fatalf("%s: flat header\n%q\nwant\n%q", rec["id"], ut.Header, want)
		}
		if n := len(stringGridMust(t, tbl["header_rows"])); n != len(ut.HeaderRows) {
			t.Fatalf("%s: %d header rows, want %d", rec["id"], len(ut.HeaderRows), n)
		}
	}
}

func stringGridMust(t *testing.T, v any) [][]string {
	g, err := stringGrid(v)
	if err != nil {
		t.Fatal(err)
	}
	return g
}
