package layouts

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pythonPath is the Python that cross-checks use.
func pythonPath() string {
	if py := os.Getenv("TABLER1_PYTHON"); py != "" {
		return py
	}
	return "/usr/bin/python3"
}

// noPandas skips the test, or fails it under CI=true, because Python or
// pandas is missing.
func noPandas(t testing.TB, why string) {
	t.Helper()
	msg := fmt.Sprintf("%s cannot run the pandas cross-check (%s): run scripts/setup.sh or set TABLER1_PYTHON", pythonPath(), why)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

type pandasCase struct {
	ID      string `json:"id"`
	Source  *Table `json:"source"`
	Program string `json:"program"`
	want    *Table
	ops     []string
}

type pandasResult struct {
	ID    string `json:"id"`
	Table *Table `json:"table"`
	Error string `json:"error"`
}

// runPandas runs every case's program in one Python process
// (testdata/lti/check.py) and returns the results by id.
func runPandas(t testing.TB, cases []pandasCase) map[string]pandasResult {
	t.Helper()
	py := pythonPath()
	if _, err := exec.LookPath(py); err != nil {
		noPandas(t, err.Error())
	}
	dir := t.TempDir()
	bridge := filepath.Join(dir, "frame.py")
	if err := os.WriteFile(bridge, []byte(PandasBridge), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, c := range cases {
		if err := enc.Encode(c); err != nil {
			t.Fatal(err)
		}
	}
	in := filepath.Join(dir, "cases.jsonl")
	if keep := os.Getenv("TABLER1_KEEP_CASES"); keep != "" {
		in = keep // for debugging a mismatch with check.py by hand
	}
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, filepath.Join("testdata", "lti", "check.py"), bridge, in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if strings.Contains(stderr.String(), "ModuleNotFoundError") {
			noPandas(t, strings.TrimSpace(stderr.String()))
		}
		t.Fatalf("check.py: %v\n%s", err, stderr.String())
	}
	res := map[string]pandasResult{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var r pandasResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("check.py output %q: %v", sc.Text(), err)
		}
		res[r.ID] = r
	}
	return res
}

// checkCases compares each case's pandas result with its Go result.
func checkCases(t *testing.T, cases []pandasCase) {
	t.Helper()
	start := time.Now()
	res := runPandas(t, cases)
	t.Logf("%d cases checked by pandas in %v", len(cases), time.Since(start).Round(time.Millisecond))
	bad := 0
	for _, c := range cases {
		r, ok := res[c.ID]
		switch {
		case !ok:
			t.Errorf("%s: no result from python", c.ID)
		case r.Error != "":
			t.Errorf("%s %v: pandas raised %s\nprogram:\n%s\nsource: %s", c.ID, c.ops, r.Error, c.Program, mustJSON(c.Source))
		case !EqualCanonical(r.Table, c.want):
			t.Errorf("%s %v: pandas and Go differ\nprogram:\n%s\nsource: %s\npandas: %s\ngo:     %s", c.ID, c.ops, c.Program, mustJSON(c.Source), mustJSON(r.Table), mustJSON(c.want))
		case r.Table.RowHeaderCols != c.want.RowHeaderCols:
			t.Errorf("%s %v: row_header_cols pandas %d, Go %d", c.ID, c.ops, r.Table.RowHeaderCols, c.want.RowHeaderCols)
		default:
			continue
		}
		if bad++; bad >= 15 {
			t.Fatalf("stopping after %d mismatches", bad)
		}
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// benchmarkTables reads the uniform dev samples in ../../shared/data,
// cropped to keep the check fast; nil when the folder is absent.
func benchmarkTables(t testing.TB, maxRows, maxCols int) []*Table {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "data", "*.jsonl"))
	var out []*Table
	seen := map[uint64]bool{}
	for _, p := range files {
		fh, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		ts, err := ReadJSONLTables(fh, p)
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, tb := range ts {
			c := crop(tb, maxRows, maxCols)
			if c == nil {
				continue
			}
			if h := hashJSON(c); !seen[h] {
				seen[h] = true
				out = append(out, c)
			}
		}
	}
	return out
}

// tinyTables is n generated tables of varied shapes.
func tinyTables(seed uint64, n int) []*Table {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]*Table, n)
	for i := range out {
		out[i] = GenerateTable(rng, TinyOptions{MaxRows: 4 + i%20, MessyProb: 0.4, LongProb: 0.25, MultiLevelProb: 0.2})
	}
	return out
}

// nastyCells and nastyNames are the cells and column names most likely to
// split Go from pandas: blanks, NaN spellings, numbers pandas reads and
// numbers it does not, exponents, int64 overflow, Unicode digits and
// whitespace, keywords of the operators.
var (
	nastyCells = []string{"", " ", "nan", "None", "NaN", "1,234", "1e5", "-0", "+3", "007", "1.50", "99999999999999999999",
		"3.", ".5", "1,23", "a\nb", "  x  ", "Total", "total ", "über", "٣", "\x1c", "e5", "TRUE", "2021-01-01", "12%",
		"-1.5e-7", "0.1", "0.2", "1e300", "x - y", "a-b", "a/b", "12:30", "Lions", "Lions", "Bears", "5", "5", "-12", "1,000,000", "\u00a0"}
	nastyNames = []string{"", "a", "a", "1", "2.5", "index", "level_0", "variable", "value", "x | y", "x | z", "Year", "Team",
		"Total", "nan", "A_B", "c - d", "é", "0", `q"uote`, `back\slash`, "it's", "tab\there", "\u00ad"}
)

// nastyTables is n tables whose cells and names come from the nasty pools,
// some columns kept numeric so that dtypes vary.
func nastyTables(seed uint64, n int) []*Table {
	rng := rand.New(rand.NewPCG(seed, 9))
	out := make([]*Table, n)
	for i := range out {
		rows, cols := 1+rng.IntN(8), 1+rng.IntN(6)
		t := &Table{}
		levels := 1 + rng.IntN(3)/2
		for l := 0; l < levels; l++ {
			h := make([]string, cols)
			for c := range h {
				h[c] = nastyNames[rng.IntN(len(nastyNames))]
			}
			t.Header = append(t.Header, h)
		}
		kinds := make([]int, cols)
		for c := range kinds {
			kinds[c] = rng.IntN(4) // 0 nasty, 1 int, 2 float, 3 category
		}
		for r := 0; r < rows; r++ {
			row := make([]string, cols)
			for c, k := range kinds {
				switch {
				case k == 1:
					row[c] = fmt.Sprint(rng.IntN(2000) - 1000)
				case k == 2 && rng.IntN(6) > 0:
					row[c] = fmt.Sprint(float64(rng.IntN(20000)-10000) / 100)
				case k == 3:
					row[c] = []string{"p", "q", "r"}[rng.IntN(3)]
				default:
					row[c] = nastyCells[rng.IntN(len(nastyCells))]
				}
			}
			t.Rows = append(t.Rows, row)
		}
		out[i] = t
	}
	return out
}

// precursors are operators that bring a table into the layout another
// operator undoes, for operators that rarely fit a table as found.
var precursors = map[string][]string{
	"reset_index":       {"set_index"},
	"pivot":             {"melt"},
	"remove_blank_rows": {"insert_blank_rows"},
	"remove_total":      {"append_total"},
	"fill_down":         {"blank_repeats", "insert_blank_rows"},
	"flatten_header":    {"split_header"},
	"split_header":      {"flatten_header", "join_columns"},
	"split_column":      {"join_columns"},
	"promote_header":    {"demote_header"},
}

// opCases draws, for every operator, cases on at least perOp tables: the
// operator alone where it fits, else after a precursor. Each table serves
// every operator that still needs cases, so that the Python side loads few
// distinct tables.
func opCases(t *testing.T, tables []*Table, perOp int, seed uint64, firstBench int) []pandasCase {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 2))
	specs := map[string]opSpec{}
	for _, s := range opSpecs() {
		specs[s.name] = s
	}
	count, bench := map[string]int{}, map[string]int{}
	var cases []pandasCase
	for _, ti := range rng.Perm(len(tables)) {
		f, err := loadFrame(tables[ti])
		if err != nil {
			continue
		}
		for _, name := range OpNames() {
			if count[name] >= perOp {
				continue
			}
			chain := sampleWithPrecursor(rng, specs, name, f)
			if chain == nil {
				continue
			}
			got, err := chain.Apply(tables[ti])
			if err != nil {
				t.Fatalf("%s: chain %v refused its table: %v", name, chain.Names(), err)
			}
			count[name]++
			if ti >= firstBench {
				bench[name]++
			}
			cases = append(cases, pandasCase{ID: fmt.Sprintf("%s-%d", name, count[name]), Source: tables[ti], Program: chain.Program(), want: got, ops: chain.Names()})
		}
	}
	for _, name := range OpNames() {
		if count[name] < perOp {
			t.Errorf("operator %s fits only %d tables, want %d", name, count[name], perOp)
		}
	}
	t.Logf("cases per operator on benchmark tables (of %d): %v", perOp, bench)
	return cases
}

func sampleWithPrecursor(rng *rand.Rand, specs map[string]opSpec, name string, f *frame) Chain {
	if op := specs[name].sample(rng, f); op != nil {
		if _, err := op.apply(f); err == nil {
			return Chain{op}
		}
	}
	for _, pre := range precursors[name] {
		p := specs[pre].sample(rng, f)
		if p == nil {
			continue
		}
		g, err := p.apply(f)
		if err != nil {
			continue
		}
		if op := specs[name].sample(rng, g); op != nil {
			if _, err := op.apply(g); err == nil {
				return Chain{p, op}
			}
		}
	}
	return nil
}

// TestOpsMatchPandas is the cross-check: every operator, on at least 200
// tables (generated and the benchmark samples), gives in Go exactly what
// its pandas program gives; so do generated multi-operator LTI tasks. All
// cases run in one Python process.
func TestOpsMatchPandas(t *testing.T) {
	t.Parallel() // most of its time is the Python process
	perOp, n, nTasks, seed := 205, 300, 150, uint64(0)
	if long() {
		perOp, n, nTasks, seed = 1500, 3000, 5000, uint64(time.Now().UnixNano())
		t.Logf("long run, seed %d", seed)
	}
	bench := benchmarkTables(t, 30, 10)
	if len(bench) == 0 {
		t.Log("no benchmark samples in ../../shared/data: generated tables only")
	}
	tables := append(tinyTables(11+seed, n), nastyTables(13+seed, n)...)
	firstBench := len(tables)
	tables = append(tables, bench...)
	cases := opCases(t, tables, perOp, 5+seed, firstBench)

	// Chains: sources cropped as the generator's defaults do.
	srcs := append(tinyTables(12+seed, 200), nastyTables(14+seed, 100)...)
	srcs = append(srcs, bench...)
	maxOps := 3
	if long() {
		maxOps = 5
	}
	g, err := NewLTIGenerator(srcs, LTIOptions{MinOps: 2, MaxOps: maxOps})
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := g.Generate(rand.New(rand.NewPCG(3+seed, 4)), nTasks)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range tasks {
		cases = append(cases, pandasCase{ID: tk.ID, Source: tk.Source, Program: tk.Program, want: tk.Target, ops: tk.Ops})
	}
	cases = append(cases, regressionCases(t)...)
	checkCases(t, cases)
}

// regressionCases are chains that once split Go from pandas: each pins a
// pandas dtype rule the frame model follows.
func regressionCases(t *testing.T) []pandasCase {
	long := tbl([]string{"Name", "Year", "Goals"},
		row("Ana", "2020", "3"), row("Ana", "2019", "5"), row("Ben", "2020", "2"), row("Ben", "2019", "4"))
	people := tbl([]string{"Name", "Team", "Points"}, row("Ana", "Lions", "10"), row("Ben", "Bears", "7"))
	tests := []struct {
		name  string
		in    *Table
		chain Chain
	}{
		// melt's var column has the dtype of the whole columns Index
		// (object after pivot's reset_index), not of the value labels.
		{"pivot-melt-total", long, Chain{NewPivot(0, 1, 2), NewMelt([]int{0}, []int{1, 2}, "variable", "value"), NewAppendTotal(0, "Sum")}},
		// transpose's new first column comes from the Index too.
		{"pivot-transpose-total", long, Chain{NewPivot(0, 1, 2), NewTranspose(), NewAppendTotal(0, "T")}},
		// set_index infers the Index dtype of an object column of ints.
		{"demote-promote-setindex-total", people, Chain{NewDemoteHeader(), NewPromoteHeader(0), NewSetIndex(2), NewResetIndex(), NewAppendTotal(1, "T")}},
		// numpy's pairwise float sum.
		{"float-total", tbl([]string{"n", "x"}, func() [][]string {
			var rows [][]string
			for i := range 300 {
				rows = append(rows, row(fmt.Sprint("r", i), "0.1"))
			}
			return rows
		}()...), Chain{NewAppendTotal(0, "Total")}},
	}
	var out []pandasCase
	for _, tc := range tests {
		want, err := tc.chain.Apply(tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		out = append(out, pandasCase{ID: "regression-" + tc.name, Source: tc.in, Program: tc.chain.Program(), want: want, ops: tc.chain.Names()})
	}
	return out
}

// long reports whether the long checks were asked for (TABLER1_LONG=1):
// thousands of cases per operator on fresh seeds, minutes of Python.
func long() bool { return os.Getenv("TABLER1_LONG") != "" }
