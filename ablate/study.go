package ablate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Study is a study file: which configuration to ablate, how, with which
// seeds, and what to evaluate on.
type Study struct {
	// Name names the study (the table's title).
	Name string `yaml:"name"`
	// Base is the training configuration every arm starts from: a path
	// (relative to the study file) or the configuration itself, inline.
	Base yaml.Node `yaml:"base"`
	// Seeds are the training seeds; every arm runs once per seed.
	Seeds []uint64 `yaml:"seeds"`
	// Parallel is how many arm-seeds run at once (0: half the CPUs, at
	// least 1); the --parallel flag overrides it.
	Parallel int `yaml:"parallel"`
	// HeldOut is what every final checkpoint is evaluated on.
	HeldOut HeldOutConfig `yaml:"heldout"`
	// Bootstrap sets the confidence intervals over seeds.
	Bootstrap BootstrapConfig `yaml:"bootstrap"`
	Arms      []Arm           `yaml:"arms"`

	// dir is the study file's directory, against which relative paths are
	// read; base is the base configuration's YAML tree.
	dir  string
	base *yaml.Node
}

// Arm is one variant of the base configuration.
type Arm struct {
	// Name names the arm (letters, digits, '-', '_', '.'): its directory.
	Name string `yaml:"name"`
	// Set maps key paths of the training configuration to the values that
	// replace them, e.g. rewards.short_code.penalty: 0 or
	// stages[1].steps: 20. A key the configuration does not know is an
	// error; a valid key absent from the base is added.
	Set map[string]yaml.Node `yaml:"set"`
	// Stages edits the stage list.
	Stages StageEdit `yaml:"stages"`
}

// StageEdit drops stages by kind.
type StageEdit struct {
	// Without lists stage kinds (lti_sft, sft, grpo, lti_grpo) to remove;
	// each must be present in the base.
	Without []string `yaml:"without"`
}

// HeldOutConfig is the held-out evaluation: a split of the synthetic
// generator with a seed of its own (questions any training seed also
// generates are dropped), and optionally benchmark dev samples.
type HeldOutConfig struct {
	// Seed seeds the held-out generator; it must differ from every
	// training seed.
	Seed uint64 `yaml:"seed"`
	// Questions is the size of the held-out split (default 100); the
	// generator's other settings are the base's data.synthetic.
	Questions int `yaml:"questions"`
	// Templates is a directory of prompt templates (rollout.LoadTemplates;
	// relative to the study file) matching the prompt the model is trained
	// on; empty: the embedded ones.
	Templates string `yaml:"templates"`
	// TableFormat is how prompts write the table preview (markdown, pipe,
	// compact, ...; default markdown).
	TableFormat string `yaml:"table_format"`
	// Mode is program, text or mixed (default mixed); decoding is greedy.
	Mode string `yaml:"mode"`
	// MaxTokens bounds a completion (default: the base's rollout.max_tokens).
	MaxTokens   int `yaml:"max_tokens"`
	Concurrency int `yaml:"concurrency"`
	// Benchmarks, when set, also evaluates benchmark dev samples.
	Benchmarks *BenchmarkSet `yaml:"benchmarks"`
}

// BenchmarkSet is a seeded subset of benchmark data.
type BenchmarkSet struct {
	// Data is a uniform JSONL file or a directory (eval.LoadData), relative
	// to the study file.
	Data       string   `yaml:"data"`
	Benchmarks []string `yaml:"benchmarks"`
	Split      string   `yaml:"split"`
	// Limit is the number of examples per benchmark (default 50).
	Limit int    `yaml:"limit"`
	Seed  uint64 `yaml:"seed"`
}

// BootstrapConfig sets the percentile bootstrap over seeds.
type BootstrapConfig struct {
	// Resamples is the number of bootstrap resamples (default 10000).
	Resamples int `yaml:"resamples"`
	// Seed seeds the resampling (default 1).
	Seed uint64 `yaml:"seed"`
}

var armName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// LoadStudy reads a study file and the base configuration it names.
func LoadStudy(path string) (*Study, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the study file: %w", err)
	}
	s, err := ParseStudy(b, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("study %s: %w", path, err)
	}
	return s, nil
}

// ParseStudy decodes a study file strictly (unknown keys are errors),
// reads the base configuration (a path is relative to dir), fills defaults
// and checks the study. The arms' overrides are checked against the
// training configuration by Resolve.
func ParseStudy(b []byte, dir string) (*Study, error) {
	var s Study
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the study file is empty")
		}
		return nil, fmt.Errorf("decoding the study: %w", err)
	}
	s.dir = dir
	switch s.Base.Kind {
	case yaml.ScalarNode:
		if s.Base.Value == "" {
			return nil, errors.New("base: empty: give the path of a training configuration or the configuration inline")
		}
		cb, err := os.ReadFile(s.path(s.Base.Value))
		if err != nil {
			return nil, fmt.Errorf("base: reading the training configuration: %w", err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(cb, &doc); err != nil {
			return nil, fmt.Errorf("base %s: parsing YAML: %w", s.Base.Value, err)
		}
		if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
			return nil, fmt.Errorf("base %s: want a YAML mapping (a training configuration)", s.Base.Value)
		}
		s.base = doc.Content[0]
	case yaml.MappingNode:
		s.base = &s.Base
	case 0:
		return nil, errors.New("base: missing: give the path of a training configuration or the configuration inline")
	default:
		return nil, errors.New("base: want a path or a mapping (the training configuration inline)")
	}
	if s.Name == "" {
		s.Name = "study"
	}
	if len(s.Seeds) == 0 {
		return nil, errors.New("seeds: give at least one training seed")
	}
	for i, x := range s.Seeds {
		if slices.Contains(s.Seeds[:i], x) {
			return nil, fmt.Errorf("seeds: %d is listed twice", x)
		}
	}
	if s.Parallel < 0 {
		return nil, fmt.Errorf("parallel: is %d; want >= 0 (0: half the CPUs)", s.Parallel)
	}
	if len(s.Arms) == 0 {
		return nil, errors.New("arms: give at least one arm (an arm with no overrides runs the base)")
	}
	for i, a := range s.Arms {
		if !armName.MatchString(a.Name) {
			return nil, fmt.Errorf("arms[%d].name: %q; want letters, digits, '-', '_' or '.', not starting with a punctuation mark", i, a.Name)
		}
		for _, b := range s.Arms[:i] {
			if b.Name == a.Name {
				return nil, fmt.Errorf("arms[%d].name: %q is used twice", i, a.Name)
			}
		}
		for k := range a.Set {
			if _, err := parsePath(k); err != nil {
				return nil, fmt.Errorf("arm %q: set: %w", a.Name, err)
			}
		}
	}
	h := &s.HeldOut
	if slices.Contains(s.Seeds, h.Seed) {
		return nil, fmt.Errorf("heldout.seed: %d is also a training seed; the held-out split needs a seed of its own", h.Seed)
	}
	if h.Questions < 0 {
		return nil, fmt.Errorf("heldout.questions: is %d; want >= 0 (0: 100)", h.Questions)
	}
	if h.Questions == 0 {
		h.Questions = 100
	}
	if h.Templates != "" {
		h.Templates = s.path(h.Templates)
	}
	if bs := h.Benchmarks; bs != nil {
		if bs.Data == "" {
			return nil, errors.New("heldout.benchmarks.data: give a uniform JSONL file or a directory")
		}
		bs.Data = s.path(bs.Data)
		if bs.Limit == 0 {
			bs.Limit = 50
		}
	}
	if s.Bootstrap.Resamples < 0 {
		return nil, fmt.Errorf("bootstrap.resamples: is %d; want >= 0 (0: 10000)", s.Bootstrap.Resamples)
	}
	if s.Bootstrap.Resamples == 0 {
		s.Bootstrap.Resamples = 10000
	}
	if s.Bootstrap.Seed == 0 {
		s.Bootstrap.Seed = 1
	}
	return &s, nil
}

func (s *Study) path(p string) string {
	if filepath.IsAbs(p) || s.dir == "" {
		return p
	}
	return filepath.Join(s.dir, p)
}
