//go:build !race

// The dashboard in a real browser, on a run that trains: tens of seconds of
// CPU training, left out of race-detector runs (scripts/test.sh runs it
// without).

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer collects a command's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var servedURL = regexp.MustCompile(`(?:dashboard on|serving \d+ run\(s\) on) (http://\S+)`)

// startCmd runs a subcommand in the background. exit is closed when it
// returns, and code then holds its exit code; stop cancels it and waits.
func startCmd(t *testing.T, args ...string) (out *lockedBuffer, stop func() int, exit <-chan struct{}, code *int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out = &lockedBuffer{}
	done := make(chan struct{})
	code = new(int)
	go func() {
		defer close(done)
		*code = run(ctx, &env{stdout: out, stderr: out, getenv: os.Getenv}, args)
	}()
	stop = func() int {
		cancel()
		select {
		case <-done:
			return *code
		case <-time.After(time.Minute):
			t.Errorf("tabler1 %s did not stop within a minute of its cancellation:\n%s", args[0], out.String())
			return -1
		}
	}
	t.Cleanup(func() { stop() })
	return out, stop, done, code
}

// waitURL waits for a command to print the dashboard's address.
func waitURL(t *testing.T, out *lockedBuffer) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if m := servedURL.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no dashboard address printed:\n%s", out.String())
	return ""
}

// treeDigest hashes the names, sizes and contents of a directory's files.
func treeDigest(t *testing.T, dir string) string {
	h := sha256.New()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		fmt.Fprintf(h, "%s %d\n", p, len(b))
		h.Write(b)
		return nil
	})
	return fmt.Sprintf("%x", h.Sum(nil))
}

// evalRun writes a run directory holding only evaluation curves and a
// report, as the eval hook writes them, to overlay on the trained run.
func evalRun(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "eval-run")
	os.MkdirAll(filepath.Join(dir, "eval", "step-20"), 0o755)
	var b strings.Builder
	for s := 1; s <= 34; s++ {
		fmt.Fprintf(&b, `{"step":%d,"stage":"grpo","actor/loss":%g`, s, 3/float64(s))
		if s%5 == 0 {
			fmt.Fprintf(&b, `,"eval/wtq/test/accuracy":%g,"eval/tabfact/test/accuracy":%g`, 0.1+float64(s)/100, 0.5+float64(s)/200)
		}
		b.WriteString("}\n")
	}
	os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(b.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "eval", "step-20", "report.json"),
		[]byte(`{"meta":{"step":20,"mode":"greedy"},"k":1,"benchmarks":[{"benchmark":"wtq","n":30,"samples":30,"metrics":{"accuracy":0.3}},{"benchmark":"tabfact","n":30,"samples":30,"metrics":{"accuracy":0.6}}]}`+"\n"), 0o644)
	return dir
}

// TestDashBrowser trains a few steps of a smoke configuration with --ui and
// watches its curves grow in headless Chromium, then serves the finished run
// with `tabler1 dash` (overlaid with a run of evaluation curves) and walks
// the curves, the rollout browser and the eval reports. Screenshots go to
// the test's temporary directory (and to docs/ with
// TABLER1_UPDATE_SCREENSHOTS=1).
func TestDashBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a few steps and drives a browser")
	}
	bin := chromiumOrSkip(t)
	sandboxPythonOrSkip(t)
	shots := t.TempDir()
	ctx := context.Background()
	runDir := filepath.Join(t.TempDir(), "dash-run")

	// 1. Live: the curves grow without a reload while the run trains.
	trainOut, _, trained, trainCode := startCmd(t, "train", "--config", filepath.Join("testdata", "dash-run.yaml"), "--run-dir", runDir, "--ui", "127.0.0.1:0")
	live := waitURL(t, trainOut)
	b := startBrowser(t, bin)
	b.navigate(live + "?poll=300")
	b.wait(ctx, 60*time.Second, "the loss curve's first points",
		`(() => { const c = document.querySelector('canvas[data-metric="actor/loss"]'); return !!c && Number(c.dataset.points) >= 2; })()`)
	first := b.num(`Number(document.querySelector('canvas[data-metric="actor/loss"]').dataset.points)`)
	b.wait(ctx, 90*time.Second, "the loss curve to grow without a reload",
		fmt.Sprintf(`Number(document.querySelector('canvas[data-metric="actor/loss"]').dataset.points) > %g + 2`, first))
	if b.eval(`performance.getEntriesByType("navigation").length`).(float64) != 1 {
		t.Error("the page reloaded")
	}
	b.screenshot(filepath.Join(shots, "live.png"))
	select {
	case <-trained:
		if *trainCode != 0 {
			t.Fatalf("training exited %d:\n%s", *trainCode, trainOut.String())
		}
	case <-time.After(5 * time.Minute):
		t.Fatalf("training did not finish in 5 minutes:\n%s", trainOut.String())
	}

	// 2. `tabler1 dash` on the finished run, a run of eval curves overlaid.
	before := treeDigest(t, runDir)
	evalDir := evalRun(t)
	dashOut, stopDash, _, _ := startCmd(t, "dash", "--addr", "127.0.0.1:0", runDir, evalDir)
	url := waitURL(t, dashOut)
	if resp, err := http.Get(url + "api/runs"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("api/runs: %v %v", resp, err)
	}
	b.navigate(url)
	b.wait(ctx, 30*time.Second, "curves with points in every group of the run",
		`(() => { const cs = [...document.querySelectorAll('canvas.chart')].filter(c => Number(c.dataset.points) > 0); return cs.length >= 20; })()`)
	for _, m := range []string{"critic/score/mean", "actor/loss", "actor/entropy", "paradigm/program_share", "response_length/mean", "timing_s/step", "eval/wtq/test/accuracy", "eval/tabfact/test/accuracy"} {
		if n := b.num(fmt.Sprintf(`Number((document.querySelector('canvas[data-metric=%q]') || {dataset: {}}).dataset.points || 0)`, m)); n < 2 {
			t.Errorf("curve %s has %v points", m, n)
		}
	}
	for _, g := range []string{"critic", "actor", "paradigm", "eval", "perf", "sandbox"} {
		if b.eval(fmt.Sprintf(`!!document.querySelector('.group[data-group=%q]:not(.hidden)')`, g)) != true {
			t.Errorf("no %s/ group on the page", g)
		}
	}
	if b.eval(`document.querySelectorAll('#runs input:checked').length`).(float64) != 2 {
		t.Error("the two runs are not both shown")
	}
	b.screenshot(filepath.Join(shots, "curves.png"))

	// A click on the reward curve opens that step's rollouts.
	var rect struct{ X, Y, W, H float64 }
	r := b.eval(`(() => { const c = document.querySelector('canvas[data-metric="critic/score/mean"]'); c.scrollIntoView({block: "center"}); const r = c.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()`).([]any)
	rect.X, rect.Y, rect.W, rect.H = r[0].(float64), r[1].(float64), r[2].(float64), r[3].(float64)
	b.click(rect.X+rect.W-12, rect.Y+rect.H/2)
	b.wait(ctx, 15*time.Second, "the rollout browser with the clicked step's samples",
		`!document.querySelector('#view-rollouts').classList.contains('hidden') && document.querySelectorAll('#r-list tr.sample').length > 0`)
	if step := b.str(`document.querySelector('#r-step').value`); step != "34" {
		t.Errorf("clicking the last point opened step %s, want 34", step)
	}
	total := b.num(`document.querySelectorAll('#r-list tr.sample').length`)

	// A filter narrows the list: programs only.
	b.eval(`(() => { const s = document.querySelector('#f-paradigm'); s.value = 'program'; s.dispatchEvent(new Event('change')); })()`)
	b.wait(ctx, 15*time.Second, "the paradigm filter to apply",
		`document.querySelector('#r-summary').textContent.includes('match') && [...document.querySelectorAll('#r-list tr.sample')].every(tr => tr.children[1].textContent === 'program')`)
	if n := b.num(`document.querySelectorAll('#r-list tr.sample').length`); n == 0 || n >= total {
		// The step mixes programs with invalid completions (testdata/dash-run.yaml).
		t.Errorf("the program filter left %v of %v samples", n, total)
	}
	// Open a program sample: its program and reward components are shown.
	b.eval(`document.querySelector('#r-list tr.sample').click()`)
	b.wait(ctx, 15*time.Second, "a sample's program and reward components",
		`!!document.querySelector('#program') && document.querySelectorAll('#components tr').length >= 5`)
	// The program shown is the sample's, as the server has it.
	if shown, want := b.str(`document.querySelector('#program').textContent`), b.str(`(async () => { const i = document.querySelector('#sample').dataset.i; const s = await (await fetch('api/sample?run=0&step=34&i=' + i)).json(); return s.code; })()`); shown != want || shown == "" {
		t.Errorf("the program shown is %q, the sample's %q", shown, want)
	}
	for _, c := range []string{"format", "compile", "execution", "answer", "advantage"} {
		if !strings.Contains(b.str(`document.querySelector('#components').textContent`), c) {
			t.Errorf("reward component %s not shown", c)
		}
	}
	if b.eval(`!!document.querySelector('#r-detail table.preview th')`) != true {
		t.Error("the prompt's table preview is not shown as a table")
	}
	b.screenshot(filepath.Join(shots, "rollouts.png"))

	// Eval reports.
	b.eval(`document.querySelector('#tab-evals').click()`)
	b.wait(ctx, 15*time.Second, "the eval report", `document.querySelectorAll('.report table.evals tr').length >= 3`)
	b.screenshot(filepath.Join(shots, "evals.png"))

	if code := stopDash(); code != 0 {
		t.Errorf("dash exited %d:\n%s", code, dashOut.String())
	}
	if treeDigest(t, runDir) != before {
		t.Error("serving the dashboard changed the run directory")
	}
	if os.Getenv("TABLER1_UPDATE_SCREENSHOTS") == "1" {
		for _, n := range []string{"curves.png", "rollouts.png"} {
			b, _ := os.ReadFile(filepath.Join(shots, n))
			if err := os.WriteFile(filepath.Join("..", "..", "docs", "dash-"+n), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
