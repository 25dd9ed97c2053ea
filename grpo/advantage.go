package grpo

import (
	"errors"
	"fmt"
	"math"
)

// Estimator names an advantage estimator (verl's algorithm.adv_estimator).
type Estimator string

// The estimators. With r_i the rewards of a group of G, m their mean and s
// their standard deviation (unbiased, divisor G-1, as torch.std in verl and
// TRL):
const (
	// EstimatorGRPO: A_i = (r_i - m) / (s + eps); with
	// norm_adv_by_std_in_grpo false, A_i = r_i - m.
	EstimatorGRPO Estimator = "grpo"
	// EstimatorDrGRPO (Dr. GRPO): A_i = r_i - m.
	EstimatorDrGRPO Estimator = "dr_grpo"
	// EstimatorBatchStd (TRL scale_rewards=batch, "Lite PPO"):
	// A_i = (r_i - m) / (S + eps), S the standard deviation of every reward
	// in the batch.
	EstimatorBatchStd Estimator = "batch_std"
	// EstimatorRLOO (leave one out): A_i = r_i - mean_{j != i} r_j
	// = G/(G-1) (r_i - m).
	EstimatorRLOO Estimator = "rloo"
)

// DefaultEpsilon is verl's epsilon for the std division.
const DefaultEpsilon = 1e-6

// AdvantageConfig configures advantages and group filtering. The zero
// value is GRPO with std normalisation, epsilon 1e-6 and no filtering.
type AdvantageConfig struct {
	Estimator Estimator `yaml:"adv_estimator" json:"adv_estimator"`
	// Epsilon guards the std division; 0 takes DefaultEpsilon.
	Epsilon float64 `yaml:"epsilon" json:"epsilon"`
	// NormAdvByStdInGRPO (verl's algorithm.norm_adv_by_std_in_grpo) divides
	// by the group std in EstimatorGRPO; nil means true.
	NormAdvByStdInGRPO *bool              `yaml:"norm_adv_by_std_in_grpo" json:"norm_adv_by_std_in_grpo,omitempty"`
	FilterGroups       FilterGroupsConfig `yaml:"filter_groups" json:"filter_groups"`
}

// FilterGroupsConfig is DAPO's dynamic sampling (verl's
// algorithm.filter_groups): groups whose samples all have the same binary
// outcome (all right or all wrong) carry no signal and are dropped, and the
// trainer draws more groups until it has a full batch.
type FilterGroupsConfig struct {
	Enable bool `yaml:"enable" json:"enable"`
	// Metric is what "same outcome" is judged on: "correct" (Reward.Correct;
	// verl's "acc" is accepted as a synonym), the only choice, since
	// filtering on a shaped reward drops nothing useful and keeps noise
	// (verl-recipe PR #125). "" means correct.
	Metric string `yaml:"metric" json:"metric"`
	// MaxNumGenBatches bounds the generation batches drawn for one training
	// batch; <= 0 means no bound (as verl).
	MaxNumGenBatches int `yaml:"max_num_gen_batches" json:"max_num_gen_batches"`
}

// Validate reports what is wrong with c.
func (c AdvantageConfig) Validate() error {
	var errs []error
	switch c.Estimator {
	case "", EstimatorGRPO, EstimatorDrGRPO, EstimatorBatchStd, EstimatorRLOO:
	default:
		errs = append(errs, fmt.Errorf("grpo: unknown adv_estimator %q: use grpo, dr_grpo, batch_std or rloo", c.Estimator))
	}
	if math.IsNaN(c.Epsilon) || c.Epsilon < 0 || math.IsInf(c.Epsilon, 0) {
		errs = append(errs, fmt.Errorf("grpo: advantage epsilon = %v: must be a finite number >= 0", c.Epsilon))
	}
	switch c.FilterGroups.Metric {
	case "", "correct", "acc":
	default:
		errs = append(errs, fmt.Errorf("grpo: filter_groups.metric %q: only \"correct\" (binary correctness) is supported", c.FilterGroups.Metric))
	}
	return errors.Join(errs...)
}

func (c AdvantageConfig) eps() float64 {
	if c.Epsilon == 0 {
		return DefaultEpsilon
	}
	return c.Epsilon
}

// Advantages computes one advantage per sample from the rewards of each
// group (rewards[g][i]: sample i of group g, program and text samples of a
// question together, so they share one baseline). A group of one sample has
// advantage 0: there is nothing to compare it with (verl instead scores it
// against a mean of 0). Rewards must be finite.
func Advantages(cfg AdvantageConfig, rewards [][]float64) ([][]float64, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	for g, grp := range rewards {
		for i, r := range grp {
			if math.IsNaN(r) || math.IsInf(r, 0) {
				return nil, fmt.Errorf("grpo: reward of group %d sample %d is %v: rewards must be finite", g, i, r)
			}
		}
	}
	eps := cfg.eps()
	var batchStd float64
	if cfg.Estimator == EstimatorBatchStd {
		var all []float64
		for _, grp := range rewards {
			all = append(all, grp...)
		}
		_, batchStd = meanStd(all)
	}
	out := make([][]float64, len(rewards))
	for g, grp := range rewards {
		adv := make([]float64, len(grp))
		out[g] = adv
		if len(grp) < 2 {
			continue
		}
		m, s := meanStd(grp)
		n := float64(len(grp))
		for i, r := range grp {
			d := r - m
			switch cfg.Estimator {
			case "", EstimatorGRPO:
				if cfg.NormAdvByStdInGRPO == nil || *cfg.NormAdvByStdInGRPO {
					d /= s + eps
				}
			case EstimatorBatchStd:
				d /= batchStd + eps
			case EstimatorRLOO:
				d *= n / (n - 1)
			}
			adv[i] = d
		}
	}
	return out, nil
}

// meanStd returns the mean and the unbiased standard deviation (0 for
// fewer than two values).
func meanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

// ZeroVariance reports whether a group's samples all have the same binary
// outcome (an empty group has none to differ).
func ZeroVariance(correct []bool) bool {
	for _, c := range correct {
		if c != correct[0] {
			return false
		}
	}
	return true
}

// KeepGroups returns the indices of the groups to train on: all of them
// when filtering is off, else those whose outcomes differ (ZeroVariance
// false).
func KeepGroups(cfg FilterGroupsConfig, correct [][]bool) []int {
	keep := make([]int, 0, len(correct))
	for g, c := range correct {
		if !cfg.Enable || !ZeroVariance(c) {
			keep = append(keep, g)
		}
	}
	return keep
}

// SamplingDecision is DAPO's dynamic-sampling verdict on the groups drawn
// so far for one training batch.
type SamplingDecision struct {
	// Keep are the indices of the groups to train on, in the order drawn,
	// at most target of them.
	Keep []int
	// DrawMore: fewer than target groups survive the filter and another
	// generation batch may be drawn.
	DrawMore bool
	// Exhausted: fewer than target groups survive and MaxNumGenBatches
	// batches have been drawn; verl stops with an error here, the trainer
	// may instead train on Keep or skip the step.
	Exhausted bool
}

// DynamicSampling decides, after genBatches generation batches whose
// groups' outcomes are correct (in the order drawn), which groups to keep
// and whether to draw more, for a batch of target groups. With filtering
// off every group is kept (the first target) and nothing more is drawn.
func DynamicSampling(cfg FilterGroupsConfig, correct [][]bool, target, genBatches int) SamplingDecision {
	keep := KeepGroups(cfg, correct)
	var d SamplingDecision
	if len(keep) >= target || !cfg.Enable {
		d.Keep = keep[:min(len(keep), max(target, 0))]
		return d
	}
	d.Keep = keep
	if cfg.MaxNumGenBatches > 0 && genBatches >= cfg.MaxNumGenBatches {
		d.Exhausted = true
	} else {
		d.DrawMore = true
	}
	return d
}
