package ablate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"tabler1/trainer"
)

// fakeRunner records the jobs it runs; its metrics are a function of the
// arm and seed.
type fakeRunner struct {
	mu   sync.Mutex
	ran  []string
	fail string // arm whose jobs fail
}

func (f *fakeRunner) RunJob(ctx context.Context, j Job) (Result, error) {
	f.mu.Lock()
	f.ran = append(f.ran, j.Arm+"/"+filepath.Base(j.Dir))
	f.mu.Unlock()
	if j.Arm == f.fail {
		return Result{}, errors.New("boom")
	}
	return Result{Metrics: map[string]float64{"heldout/accuracy": float64(j.Seed) / 10, HardCoded: 0.5}, WallSeconds: 2}, nil
}

func TestRunWritesResolvedConfigsAndResumes(t *testing.T) {
	s := loadTestStudy(t)
	out := t.TempDir()
	f := &fakeRunner{}
	res, err := Run(context.Background(), s, f, Options{Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.ran) != 6 || len(res) != 6 {
		t.Fatalf("ran %v, results %d; want 6 arm-seeds", f.ran, len(res))
	}
	// The written configuration of each arm-seed is its resolution, key by key.
	for _, a := range s.Arms {
		for _, seed := range s.Seeds {
			dir := filepath.Join(out, a.Name, "seed-"+strconv.FormatUint(seed, 10))
			c, err := trainer.LoadConfig(filepath.Join(dir, "config.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			abs, _ := filepath.Abs(filepath.Join(dir, "run"))
			want, err := s.Resolve(a, seed, abs)
			if err != nil {
				t.Fatal(err)
			}
			got, wantFlat := flatConfig(t, c), flatConfig(t, want.Config)
			if len(got) != len(wantFlat) {
				t.Errorf("%s seed %d: %d keys written, want %d", a.Name, seed, len(got), len(wantFlat))
			}
			for k, v := range wantFlat {
				if got[k] != v {
					t.Errorf("%s seed %d: written %s = %v, want %v", a.Name, seed, k, got[k], v)
				}
			}
		}
	}
	// A second run skips every finished arm-seed.
	f2 := &fakeRunner{}
	res2, err := Run(context.Background(), s, f2, Options{Out: out})
	if err != nil || len(f2.ran) != 0 {
		t.Fatalf("rerun ran %v (err %v); want nothing", f2.ran, err)
	}
	for i := range res {
		if res2[i].Metrics["heldout/accuracy"] != res[i].Metrics["heldout/accuracy"] {
			t.Errorf("resumed result %d differs: %+v vs %+v", i, res2[i], res[i])
		}
	}
	// An unfinished arm-seed (no result, a torn result) restarts from a
	// clean directory; one finished for another configuration reruns.
	os.Remove(filepath.Join(out, "full", "seed-1", ResultFile))
	os.WriteFile(filepath.Join(out, "full", "seed-1", "stale"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(out, "no_lti", "seed-2", ResultFile), []byte(`{"arm": "no_lti", "se`), 0o644)
	b, _ := os.ReadFile(filepath.Join(out, "no_penalties", "seed-1", ResultFile))
	os.WriteFile(filepath.Join(out, "no_penalties", "seed-1", ResultFile), []byte(strings.Replace(string(b), `"config_hash": "`, `"config_hash": "0`, 1)), 0o644)
	f3 := &fakeRunner{}
	if _, err := Run(context.Background(), s, f3, Options{Out: out, Parallel: 1}); err != nil {
		t.Fatal(err)
	}
	want := []string{"full/seed-1", "no_lti/seed-2", "no_penalties/seed-1"}
	if strings.Join(f3.ran, " ") != strings.Join(want, " ") {
		t.Errorf("reran %v, want %v", f3.ran, want)
	}
	if _, err := os.Stat(filepath.Join(out, "full", "seed-1", "stale")); !os.IsNotExist(err) {
		t.Error("the unfinished attempt's files were not cleared")
	}
}

func TestRunStopsOnFailure(t *testing.T) {
	s := loadTestStudy(t)
	out := t.TempDir()
	_, err := Run(context.Background(), s, &fakeRunner{fail: "no_lti"}, Options{Out: out, Parallel: 1})
	if err == nil || !strings.Contains(err.Error(), `arm "no_lti"`) || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("error %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "no_lti", "seed-1", ResultFile)); !os.IsNotExist(err) {
		t.Error("a failed arm-seed has a result file")
	}
}

func TestAggregateAndMarkdown(t *testing.T) {
	s := loadTestStudy(t)
	var results []Result
	for _, a := range s.Arms {
		for _, seed := range s.Seeds {
			results = append(results, Result{Arm: a.Name, Seed: seed, WallSeconds: 10 * float64(seed),
				Metrics: map[string]float64{"heldout/accuracy": float64(seed) / 4, TextTruncated: 0.25}})
		}
	}
	tab := Aggregate(s, results, 6)
	if len(tab.Arms) != 3 {
		t.Fatalf("%d arms", len(tab.Arms))
	}
	acc := tab.Arms[0].Metrics["heldout/accuracy"]
	if acc.N != 2 || !near(acc.Mean, 0.375) || !near(acc.SD, 0.125*1.4142135623730951) || acc.Lo < 0.25-1e-9 || acc.Hi > 0.5+1e-9 {
		t.Errorf("held-out accuracy summary %+v", acc)
	}
	if w := tab.Arms[1].WallSeconds; !near(w.Mean, 15) {
		t.Errorf("wall %+v", w)
	}
	md := tab.Markdown()
	for _, want := range []string{"| full |", "0.375 ± 0.177", "0.250 ± 0.000 [0.250, 0.250]", "| no_penalties |", "– |", "held-out accuracy"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	dir := t.TempDir()
	if err := tab.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"table.json", "table.md"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestHackingIndicators(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "rollouts"), 0o755)
	lines := []string{
		`{"paradigm": "program", "detail": {"computes_nothing": "prints_constant"}}`,
		`{"paradigm": "program", "detail": {"computes_nothing": "no_table_reference"}}`,
		`{"paradigm": "program", "detail": {"computes_nothing": "unchanged_on_perturbed_table"}}`,
		`{"paradigm": "program", "detail": {}}`,
		`{"paradigm": "text", "detail": {"needs_table": "question_word:highest"}}`,
		`{"paradigm": "text", "detail": {}}`,
		`{"paradigm": "invalid"}`,
		`{"paradigm": "program", "detail": {"computes_nothing": ""}}`,
	}
	os.WriteFile(filepath.Join(dir, "rollouts", "step-3.jsonl"), []byte(strings.Join(lines[:4], "\n")+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "rollouts", "step-4.jsonl"), []byte(strings.Join(lines[4:], "\n")+"\n"), 0o644)
	m, err := HackingIndicators(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"hacking/samples": 8, HardCoded: 2.0 / 8, ComputesNothing: 3.0 / 8, TextTruncated: 1.0 / 8}
	for k, v := range want {
		if !near(m[k], v) {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	os.WriteFile(filepath.Join(dir, "rollouts", "step-5.jsonl"), []byte("{torn"), 0o644)
	if _, err := HackingIndicators(dir); err == nil || !strings.Contains(err.Error(), "step-5.jsonl:1") {
		t.Errorf("torn log: %v", err)
	}
}
