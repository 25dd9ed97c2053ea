package rollout

import (
	"fmt"

	"tabler1/episode"
)

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
	// PolicyProgram and PolicyText: every sample gets the program prompt,
	// or every one the text prompt (the single-paradigm baselines of the
	// paper's ablations).
	PolicyProgram Policy = "program"
	PolicyText    Policy = "text"
)

// GroupConfig sets the size and paradigm policy of groups.
type GroupConfig struct {
	// GroupSize is G, the samples per question (default 8).
	GroupSize int `yaml:"group_size" json:"group_size"`
	// ParadigmPolicy is free (default), split, program_first, program or
	// text.
	ParadigmPolicy Policy `yaml:"paradigm_policy" json:"paradigm_policy"`
	// ProgramSamples is k under split (default G/2).
	ProgramSamples int `yaml:"program_samples" json:"program_samples,omitempty"`
	// FallbackSamples is how many text samples program_first adds when all
	// programs fail (default G).
	FallbackSamples int `yaml:"fallback_samples" json:"fallback_samples,omitempty"`
}

// WithDefaults returns c with zero fields set to their defaults.
func (c GroupConfig) WithDefaults() GroupConfig {
	if c.GroupSize == 0 {
		c.GroupSize = 8
	}
	if c.ParadigmPolicy == "" {
		c.ParadigmPolicy = PolicyFree
	}
	if c.ProgramSamples == 0 && c.ParadigmPolicy == PolicySplit {
		c.ProgramSamples = c.GroupSize / 2
	}
	if c.FallbackSamples == 0 {
		c.FallbackSamples = c.GroupSize
	}
	return c
}

// Validate reports the first problem of a config with defaults applied.
func (c GroupConfig) Validate() error {
	switch {
	case c.GroupSize < 1:
		return fmt.Errorf("rollout: group_size is %d, want at least 1", c.GroupSize)
	case c.ParadigmPolicy != PolicyFree && c.ParadigmPolicy != PolicySplit && c.ParadigmPolicy != PolicyProgramFirst &&
		c.ParadigmPolicy != PolicyProgram && c.ParadigmPolicy != PolicyText:
		return fmt.Errorf("rollout: paradigm_policy %q unknown; want free, split, program_first, program or text", c.ParadigmPolicy)
	case c.ProgramSamples < 0 || c.ProgramSamples > c.GroupSize:
		return fmt.Errorf("rollout: program_samples is %d, want 0..group_size (%d)", c.ProgramSamples, c.GroupSize)
	case c.FallbackSamples < 0:
		return fmt.Errorf("rollout: fallback_samples is %d, want 0 or more", c.FallbackSamples)
	}
	return nil
}

// Draw is one request of a group: N samples of the prompt asking for
// Asked ("" for the mixed prompt, where the model chooses).
type Draw struct {
	Asked episode.Paradigm
	N     int
}

// Draws are the requests of the first round of a group of a question of
// task under c (with defaults applied): free, one mixed request of Size
// samples; split, ProgramSamples program and Size-ProgramSamples text
// samples; program_first and program, Size program samples; text, Size
// text samples. An LTI question has only a program prompt.
func (c GroupConfig) Draws(task episode.Task) []Draw {
	switch {
	case task == episode.TaskLTI:
		return []Draw{{episode.ParadigmProgram, c.GroupSize}}
	case c.ParadigmPolicy == PolicySplit:
		return []Draw{{episode.ParadigmProgram, c.ProgramSamples}, {episode.ParadigmText, c.GroupSize - c.ProgramSamples}}
	case c.ParadigmPolicy == PolicyProgramFirst || c.ParadigmPolicy == PolicyProgram:
		return []Draw{{episode.ParadigmProgram, c.GroupSize}}
	case c.ParadigmPolicy == PolicyText:
		return []Draw{{episode.ParadigmText, c.GroupSize}}
	}
	return []Draw{{"", c.GroupSize}}
}

// Fallback is the second round of a program_first group whose programs all
// failed: FallbackSamples text samples; nil under the other policies and
// for LTI.
func (c GroupConfig) Fallback(task episode.Task) *Draw {
	if c.ParadigmPolicy != PolicyProgramFirst || task == episode.TaskLTI || c.FallbackSamples == 0 {
		return nil
	}
	return &Draw{episode.ParadigmText, c.FallbackSamples}
}
