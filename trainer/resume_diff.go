package trainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// checkpointConfigFile is the configuration a checkpoint was written under,
// kept next to its state.json: a resume with another configuration is
// compared with it key by key.
const checkpointConfigFile = "config.yaml"

// configChange is one key whose value differs between the configuration a
// checkpoint was written under and the one a run resumes with.
type configChange struct {
	Key      string // the YAML path, e.g. stages[1].steps
	Old, New string // the values as YAML scalars; "" for absent
	// Allowed says whether a resume may take the change (see
	// [ResumableKeys]); Why says why not, where more than that the key is
	// not one of them.
	Allowed bool
	Why     string
}

func (c configChange) String() string {
	mark := "ok"
	switch {
	case !c.Allowed && c.Why != "":
		mark = "refused: " + c.Why
	case !c.Allowed:
		mark = "refused"
	}
	return fmt.Sprintf("  %s: %s -> %s  (%s)", c.Key, orNone(c.Old), orNone(c.New), mark)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// ResumableKeys documents what a resume may change: the steps of the
// current and later stages (the current one not below the steps it has
// done), the checkpoint cadence, the logging settings and the evaluation
// settings. Anything else changes what the finished steps would have been
// trained on, and a resume refuses it.
const ResumableKeys = "stages[i].steps (current and later stages), checkpoint.every, checkpoint.keep, logging.*, eval.*"

var stageStepsKey = regexp.MustCompile(`^stages\[(\d+)\]\.steps$`)

// diffConfigs compares the configuration a checkpoint was written under
// with the one resuming from state st, key by key, sorted by key.
func diffConfigs(old, cur *Config, st State) ([]configChange, error) {
	a, err := flattenConfig(old)
	if err != nil {
		return nil, err
	}
	b, err := flattenConfig(cur)
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var out []configChange
	for k := range keys {
		if a[k] == b[k] {
			continue
		}
		c := configChange{Key: k, Old: a[k], New: b[k]}
		c.Allowed, c.Why = resumable(k, cur, st)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// resumable says whether key may change on a resume from st.
func resumable(key string, cur *Config, st State) (bool, string) {
	switch {
	case key == "checkpoint.every" || key == "checkpoint.keep",
		strings.HasPrefix(key, "logging."), key == "eval" || strings.HasPrefix(key, "eval."):
		return true, ""
	}
	if m := stageStepsKey.FindStringSubmatch(key); m != nil {
		i, _ := strconv.Atoi(m[1])
		if i >= len(cur.Stages) {
			return false, "the stages themselves changed"
		}
		done := st.Step
		for j := 0; j < i; j++ {
			done -= cur.Stages[j].Steps
		}
		switch {
		case i < st.Stage:
			return false, fmt.Sprintf("stage %d is finished", i)
		case i == st.Stage && cur.Stages[i].Steps < done:
			return false, fmt.Sprintf("stage %d has done %d steps already", i, done)
		}
		return true, ""
	}
	return false, "" // not a key a resume may change; the error lists those
}

// flattenConfig writes the hashed part of c as "path: value" pairs.
func flattenConfig(c *Config) (map[string]string, error) {
	b, err := yaml.Marshal(c.hashed())
	if err != nil {
		return nil, err
	}
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(join(path, k), e)
			}
		case []any:
			if len(x) == 0 {
				out[path] = "[]"
			}
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		case nil:
		default:
			out[path] = fmt.Sprint(x)
		}
	}
	walk("", v)
	return out, nil
}

// checkpointConfig reads the configuration checkpoint dir ckpt was written
// under; ok is false when it did not keep one (checkpoints written before
// it did), in which case the run's config.yaml stands in when its hash is
// the checkpoint's.
func checkpointConfig(ckpt, runDir, hash string) (*Config, bool, error) {
	for _, p := range []string{filepath.Join(ckpt, checkpointConfigFile), filepath.Join(runDir, "config.yaml")} {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		c, err := ParseConfig(b)
		if err != nil {
			return nil, false, fmt.Errorf("the configuration of checkpoint %s (%s): %w", ckpt, p, err)
		}
		if c.Hash() == hash {
			return c, true, nil
		}
	}
	return nil, false, nil
}

// writeCheckpointConfig keeps the configuration next to a checkpoint.
func writeCheckpointConfig(ckpt string, c *Config) error {
	b, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(ckpt, checkpointConfigFile), b)
}

// resumeConfigCheck compares the configuration of checkpoint ckpt (state
// st) with cur: it returns the changes when every one may be resumed with,
// and an error listing all of them, key by key, when one may not.
func resumeConfigCheck(ckpt, runDir string, cur *Config, st State) ([]configChange, error) {
	if st.ConfigHash == cur.Hash() {
		return nil, nil
	}
	old, ok, err := checkpointConfig(ckpt, runDir, st.ConfigHash)
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("resume: checkpoint %s was written with configuration hash %s, this configuration hashes to %s, and no configuration of that hash is kept to compare with; resume with the configuration of that run, or start a new run directory", ckpt, st.ConfigHash, cur.Hash())
	}
	changes, err := diffConfigs(old, cur, st)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	refused := false
	for _, c := range changes {
		b.WriteString("\n" + c.String())
		refused = refused || !c.Allowed
	}
	if refused {
		return changes, fmt.Errorf("resume: the configuration differs from the one checkpoint %s was written under (step %d):%s\nA resume may change only %s; undo the refused changes, or start a new run directory", ckpt, st.Step, b.String(), ResumableKeys)
	}
	return changes, nil
}
