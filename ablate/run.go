package ablate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

// Job is one arm-seed to train and evaluate.
type Job struct {
	Arm  string
	Seed uint64
	// Dir is the arm-seed's directory; the training run goes in Dir/run.
	Dir      string
	Resolved *Resolved
}

// Result is what an arm-seed produced; result.json in its directory marks
// it finished.
type Result struct {
	Arm  string `json:"arm"`
	Seed uint64 `json:"seed"`
	// ConfigHash is the trainer's hash of the resolved configuration: a
	// result for another configuration is not reused.
	ConfigHash string `json:"config_hash"`
	// Metrics are the held-out metrics ("heldout/accuracy", "wtq/accuracy",
	// ...) and the reward-hacking indicators ("hacking/...").
	Metrics     map[string]float64 `json:"metrics"`
	WallSeconds float64            `json:"wall_seconds"`
}

// Runner trains and evaluates one arm-seed.
type Runner interface {
	RunJob(ctx context.Context, j Job) (Result, error)
}

// Options are Run's settings from the command line.
type Options struct {
	// Out is the study's output directory.
	Out string
	// Parallel overrides the study's parallel (0: keep it).
	Parallel int
	// Log receives one line per arm-seed started, skipped or finished
	// (nil: none).
	Log io.Writer
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// ResultFile marks a finished arm-seed.
const ResultFile = "result.json"

// Run runs every arm-seed of the study not already finished under
// o.Out/<arm>/seed-<seed>, Parallel at a time, and returns the results of
// all of them (finished earlier or now), in study order. Each arm-seed's
// resolved configuration is written to config.yaml in its directory
// before it runs. An unfinished arm-seed (no valid result.json) restarts
// from scratch. Every configuration is resolved before anything runs, so
// a bad override fails the study at once. The first failure cancels the
// arm-seeds still running and is returned.
func Run(ctx context.Context, s *Study, r Runner, o Options) ([]Result, error) {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	var logMu sync.Mutex // arm-seeds running at once log to one writer
	logf := func(format string, a ...any) {
		if o.Log != nil {
			logMu.Lock()
			defer logMu.Unlock()
			fmt.Fprintf(o.Log, format+"\n", a...)
		}
	}
	var jobs []Job
	for _, a := range s.Arms {
		for _, seed := range s.Seeds {
			dir := filepath.Join(o.Out, a.Name, fmt.Sprintf("seed-%d", seed))
			abs, err := filepath.Abs(filepath.Join(dir, "run"))
			if err != nil {
				return nil, err
			}
			res, err := s.Resolve(a, seed, abs)
			if err != nil {
				return nil, err
			}
			jobs = append(jobs, Job{Arm: a.Name, Seed: seed, Dir: dir, Resolved: res})
		}
	}
	results := make([]Result, len(jobs))
	var todo []int
	for i, j := range jobs {
		if res, ok := finished(j); ok {
			results[i] = res
			logf("ablate: %s seed %d: finished earlier, skipped", j.Arm, j.Seed)
			continue
		}
		todo = append(todo, i)
	}
	par := o.Parallel
	if par <= 0 {
		par = s.Parallel
	}
	if par <= 0 {
		par = max(1, runtime.NumCPU()/2)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	next := make(chan int)
	for w := 0; w < min(par, len(todo)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				j := jobs[i]
				logf("ablate: %s seed %d: started", j.Arm, j.Seed)
				start := now()
				res, err := runOne(ctx, r, j)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("arm %q, seed %d: %w", j.Arm, j.Seed, err)
						cancel()
					}
					mu.Unlock()
					continue
				}
				results[i] = res
				logf("ablate: %s seed %d: done in %.0fs", j.Arm, j.Seed, now().Sub(start).Seconds())
			}
		}()
	}
feed:
	for _, i := range todo {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return results, nil
}

// finished returns the arm-seed's result when its result.json exists, is
// whole and was written for the same configuration.
func finished(j Job) (Result, bool) {
	b, err := os.ReadFile(filepath.Join(j.Dir, ResultFile))
	if err != nil {
		return Result{}, false
	}
	var res Result
	if json.Unmarshal(b, &res) != nil || res.Arm != j.Arm || res.Seed != j.Seed || res.ConfigHash != j.Resolved.Config.Hash() {
		return Result{}, false
	}
	return res, true
}

// runOne clears what an unfinished attempt left, writes the resolved
// configuration, runs the job and writes its result atomically.
func runOne(ctx context.Context, r Runner, j Job) (Result, error) {
	if err := os.RemoveAll(j.Dir); err != nil {
		return Result{}, fmt.Errorf("clearing the unfinished attempt in %s: %w", j.Dir, err)
	}
	if err := os.MkdirAll(j.Dir, 0o755); err != nil {
		return Result{}, err
	}
	if err := os.WriteFile(filepath.Join(j.Dir, "config.yaml"), j.Resolved.YAML, 0o644); err != nil {
		return Result{}, err
	}
	res, err := r.RunJob(ctx, j)
	if err != nil {
		return Result{}, err
	}
	res.Arm, res.Seed, res.ConfigHash = j.Arm, j.Seed, j.Resolved.Config.Hash()
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return Result{}, err
	}
	if err := writeAtomic(filepath.Join(j.Dir, ResultFile), b); err != nil {
		return Result{}, err
	}
	return res, nil
}

// writeAtomic writes b to path through a synced temporary file and a
// rename, so that path is either absent or whole.
func writeAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(b)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
