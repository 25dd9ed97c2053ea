package rollout

import "fmt"

// Policy is how a group's samples are split between paradigms.
type Policy string

// The paradigm policies.
const (
	// PolicyFree: every sample gets the mixed prompt; the model chooses.
	PolicyFree Policy = "free"
	// PolicySplit: k samples get the program prompt, G-k the text prompt.
	PolicySplit Policy = "split"
	// PolicyProgramFirst: G program samples; if all of them fail (as the
	// caller judges, by running them), text samples are drawn as well.
	PolicyProgramFirst Policy = "program_first"
)

// GroupConfig sets the size and paradigm policy of groups.
type GroupConfig struct {
	// Size is G, the samples per question (default 8).
	Size int `yaml:"group_size" json:"group_size"`
	// Policy is free (default), split or program_first.
	Policy Policy `yaml:"paradigm_policy" json:"paradigm_policy"`
	// ProgramSamples is k under split (default G/2).
	ProgramSamples int `yaml:"program_samples" json:"program_samples,omitempty"`
	// FallbackSamples is how many text samples program_first adds when all
	// programs fail (default G).
	FallbackSamples int `yaml:"fallback_samples" json:"fallback_samples,omitempty"`
}

// WithDefaults returns c with zero fields set to their defaults.
func (c GroupConfig) WithDefaults() GroupConfig {
	if c.Size == 0 {
		c.Size = 8
	}
	if c.Policy == "" {
		c.Policy = PolicyFree
	}
	if c.ProgramSamples == 0 && c.Policy == PolicySplit {
		c.ProgramSamples = c.Size / 2
	}
	if c.FallbackSamples == 0 {
		c.FallbackSamples = c.Size
	}
	return c
}

// Validate reports the first problem of a config with defaults applied.
func (c GroupConfig) Validate() error {
	switch {
	case c.Size < 1:
		return fmt.Errorf("rollout: group_size is %d, want at least 1", c.Size)
	case c.Policy != PolicyFree && c.Policy != PolicySplit && c.Policy != PolicyProgramFirst:
		return fmt.Errorf("rollout: paradigm_policy %q unknown; want free, split or program_first", c.Policy)
	case c.ProgramSamples < 0 || c.ProgramSamples > c.Size:
		return fmt.Errorf("rollout: program_samples is %d, want 0..group_size (%d)", c.ProgramSamples, c.Size)
	case c.FallbackSamples < 0:
		return fmt.Errorf("rollout: fallback_samples is %d, want 0 or more", c.FallbackSamples)
	}
	return nil
}
