package trainer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"tabler1/backend"
)

// State is the controller's part of a checkpoint (state.json): with the
// backend's weights and optimizer it is everything needed to continue a run
// exactly.
type State struct {
	// Step is the last completed global step (1-based; 0 before the first).
	Step int `json:"step"`
	// Stage is the index in Config.Stages of the stage Step belongs to, and
	// StageKind its kind.
	Stage     int    `json:"stage"`
	StageKind string `json:"stage_kind"`
	// Cursors holds, per stage index, how many items that stage has drawn.
	Cursors []int `json:"cursors"`
	// RNG is the controller's random state (math/rand/v2 PCG, binary
	// marshalled); it seeds the samplers.
	RNG []byte `json:"rng"`
	// PublishVersion is the backend's weights version after Step.
	PublishVersion int    `json:"publish_version"`
	ConfigHash     string `json:"config_hash"`
	Time           string `json:"time"`
}

const stateFile = "state.json"

// CheckpointDir is the directory of the checkpoint after step.
func CheckpointDir(runDir string, step int) string {
	return filepath.Join(runDir, "checkpoints", "step-"+strconv.Itoa(step))
}

// SaveCheckpoint writes the backend's state under the checkpoint directory
// of st.Step, syncs it to disk (files and directories), then writes
// state.json (atomically and synced, last: a directory without it is an
// unfinished checkpoint, ignored and removed by the next run), then prunes
// all but the newest keep complete checkpoints.
func SaveCheckpoint(ctx context.Context, b backend.Backend, runDir string, st State, keep int, now time.Time) (string, error) {
	dir := CheckpointDir(runDir, st.Step)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	if err := b.Save(ctx, abs); err != nil {
		return "", fmt.Errorf("checkpoint at step %d: backend save: %w", st.Step, err)
	}
	// Everything the backend wrote reaches the disk before state.json
	// makes the checkpoint count as complete.
	if err := syncTree(dir); err != nil {
		return "", fmt.Errorf("checkpoint at step %d: %w", st.Step, err)
	}
	if err := syncDir(filepath.Dir(dir)); err != nil {
		return "", fmt.Errorf("checkpoint at step %d: %w", st.Step, err)
	}
	st.Time = now.UTC().Format(time.RFC3339)
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return "", err
	}
	if err := writeFileAtomic(filepath.Join(dir, stateFile), data); err != nil {
		return "", fmt.Errorf("checkpoint: writing state: %w", err)
	}
	if err := linkLatest(runDir, st.Step); err != nil {
		return dir, err
	}
	if keep > 0 {
		steps, err := listCheckpoints(runDir)
		if err != nil {
			return dir, err
		}
		for len(steps) > keep {
			if err := os.RemoveAll(CheckpointDir(runDir, steps[0])); err != nil {
				return dir, fmt.Errorf("checkpoint: pruning step %d: %w", steps[0], err)
			}
			steps = steps[1:]
		}
	}
	return dir, nil
}

// LatestLink is the name, under a run's checkpoints/, of the symbolic link
// to the newest complete checkpoint: what eval and serve are pointed at.
const LatestLink = "latest"

// linkLatest points checkpoints/latest at step-N, atomically: the link is
// made under a temporary name and renamed over the old one, so a reader
// sees the previous checkpoint or the new one, never none. The target is
// relative, so the run directory can be moved.
func linkLatest(runDir string, step int) error {
	link := filepath.Join(runDir, "checkpoints", LatestLink)
	tmp := link + ".tmp"
	_ = os.Remove(tmp) // left by a crash between the two calls below
	if err := os.Symlink(filepath.Base(CheckpointDir(runDir, step)), tmp); err != nil {
		return fmt.Errorf("checkpoint: linking %s: %w", link, err)
	}
	if err := os.Rename(tmp, link); err != nil {
		return fmt.Errorf("checkpoint: linking %s: %w", link, err)
	}
	return syncDir(filepath.Dir(link))
}

// listCheckpoints returns the steps of the complete checkpoints, ascending.
func listCheckpoints(runDir string) ([]int, error) {
	ents, err := os.ReadDir(filepath.Join(runDir, "checkpoints"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing checkpoints: %w", err)
	}
	var steps []int
	for _, e := range ents {
		s, ok := strings.CutPrefix(e.Name(), "step-")
		n, err := strconv.Atoi(s)
		if !ok || err != nil || !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(runDir, "checkpoints", e.Name(), stateFile)); err == nil {
			steps = append(steps, n)
		}
	}
	sort.Ints(steps)
	return steps, nil
}

// LatestCheckpoint returns the directory and state of the newest complete
// checkpoint of a run; ok is false when there is none.
func LatestCheckpoint(runDir string) (dir string, st State, ok bool, err error) {
	steps, err := listCheckpoints(runDir)
	if err != nil || len(steps) == 0 {
		return "", State{}, false, err
	}
	dir = CheckpointDir(runDir, steps[len(steps)-1])
	st, err = readState(dir)
	if err != nil {
		return "", State{}, false, err
	}
	return dir, st, true, nil
}

// readState reads the state.json of a checkpoint directory.
func readState(dir string) (State, error) {
	var st State
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return st, fmt.Errorf("reading checkpoint state: %w", err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, fmt.Errorf("checkpoint %s: state.json: %w", dir, err)
	}
	return st, nil
}

// corruptSuffix is appended to a checkpoint directory that failed to load,
// so that it is kept for inspection but never resumed from or pruned as a
// checkpoint.
const corruptSuffix = ".corrupt"

// setAside renames a checkpoint that cannot be resumed from to
// step-N.corrupt (replacing an older one of that name) and returns the new
// path.
func setAside(dir string) (string, error) {
	to := dir + corruptSuffix
	if err := os.RemoveAll(to); err != nil {
		return "", err
	}
	if err := os.Rename(dir, to); err != nil {
		return "", err
	}
	return to, syncDir(filepath.Dir(dir))
}

// cleanRunDir removes what an interrupted run left unfinished: checkpoint
// directories without state.json and temporary files of atomic writes. It
// returns what it removed.
func cleanRunDir(runDir string) ([]string, error) {
	var removed []string
	ckpts := filepath.Join(runDir, "checkpoints")
	ents, err := os.ReadDir(ckpts)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("cleaning checkpoints: %w", err)
	}
	for _, e := range ents {
		s, ok := strings.CutPrefix(e.Name(), "step-")
		if _, err := strconv.Atoi(s); !ok || err != nil || !e.IsDir() {
			continue
		}
		dir := filepath.Join(ckpts, e.Name())
		if _, err := os.Stat(filepath.Join(dir, stateFile)); errors.Is(err, os.ErrNotExist) {
			if err := os.RemoveAll(dir); err != nil {
				return removed, fmt.Errorf("removing the unfinished checkpoint %s: %w", dir, err)
			}
			removed = append(removed, dir)
		}
	}
	// Only where the run writes: a run directory may hold the user's files.
	for _, f := range []string{"config.yaml", "metrics.jsonl"} {
		p := filepath.Join(runDir, f+tmpSuffix)
		if err := os.Remove(p); err == nil {
			removed = append(removed, p)
		} else if !errors.Is(err, os.ErrNotExist) {
			return removed, fmt.Errorf("removing a temporary file: %w", err)
		}
	}
	for _, d := range []string{"rollouts", "checkpoints"} {
		tmps, err := removeTemps(filepath.Join(runDir, d))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, fmt.Errorf("removing temporary files: %w", err)
		}
		removed = append(removed, tmps...)
	}
	return removed, nil
}
