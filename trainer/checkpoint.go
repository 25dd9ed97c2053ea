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
// of st.Step, then state.json (atomically, last: a directory without it is
// an unfinished checkpoint and is ignored), then prunes all but the newest
// keep complete checkpoints.
func SaveCheckpoint(ctx context.Context, b Backend, runDir string, st State, keep int, now time.Time) (string, error) {
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
	st.Time = now.UTC().Format(time.RFC3339)
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return "", err
	}
	tmp := filepath.Join(dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return "", fmt.Errorf("checkpoint: writing state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, stateFile)); err != nil {
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
	return nil
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
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return "", State{}, false, fmt.Errorf("reading checkpoint state: %w", err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return "", State{}, false, fmt.Errorf("checkpoint %s: state.json: %w", dir, err)
	}
	return dir, st, true, nil
}
