package grpo

import (
	"testing"

	"go.yaml.in/yaml/v3"

	"tabler1/answer"
)

// TestConfigYAML decodes the configurations the way the trainer does:
// YAML onto the defaults, with verl's option names.
func TestConfigYAML(t *testing.T) {
	src := `
reward:
  weights: {answer: 2}
  similarity: {metric: numeric, rel_tol: 0.01}
  short_code: {min_len: 20}
  overlong_buffer: {enable: true, len: 512, penalty_factor: 0.5}
  mask_truncated_completions: true
advantage:
  adv_estimator: rloo
  norm_adv_by_std_in_grpo: false
  filter_groups: {enable: true, metric: acc, max_num_gen_batches: 4}
loss:
  clip_ratio_low: 0.2
  clip_ratio_high: 0.28
  clip_ratio_c: 3
  loss_agg_mode: seq-mean-token-sum-norm
  loss_scale_factor: 4096
  kl_loss_type: low_var_kl
  kl_loss_coef: 0.001
  rollout_is_threshold: 2
`
	var cfg struct {
		Reward    RewardConfig    `yaml:"reward"`
		Advantage AdvantageConfig `yaml:"advantage"`
		Loss      LossConfig      `yaml:"loss"`
	}
	cfg.Reward = DefaultRewardConfig()
	cfg.Loss = DefaultLossConfig()
	if err := yaml.Unmarshal([]byte(src), &cfg); err != nil {
		t.Fatal(err)
	}
	r := cfg.Reward
	if r.Weights.Answer != 2 || r.Weights.Format != 0.1 || r.Similarity.Metric != answer.MetricNumeric ||
		r.Similarity.RelTol != 0.01 || r.ShortCode.MinLen != 20 || r.ShortCode.Penalty != 0.5 ||
		!r.OverlongBuffer.Enable || r.OverlongBuffer.Len != 512 || !r.MaskTruncatedCompletions ||
		!r.ComputesNothing.Syntax || len(r.NeedsTable.Words) == 0 {
		t.Errorf("reward %+v", r)
	}
	a := cfg.Advantage
	if a.Estimator != EstimatorRLOO || a.NormAdvByStdInGRPO == nil || *a.NormAdvByStdInGRPO || !a.FilterGroups.Enable ||
		a.FilterGroups.MaxNumGenBatches != 4 {
		t.Errorf("advantage %+v", a)
	}
	l := cfg.Loss
	if l.ClipRatioHigh != 0.28 || l.ClipRatioC != 3 || l.LossAggMode != AggSeqMeanTokenSumNorm || l.LossScaleFactor != 4096 ||
		l.KLType != "low_var_kl" || l.KLCoef != 0.001 || l.TISCap != 2 {
		t.Errorf("loss %+v", l)
	}
	for _, err := range []error{r.Validate(), a.Validate(), l.Validate()} {
		if err != nil {
			t.Error(err)
		}
	}
	var bad struct {
		Similarity answer.Scorer `yaml:"similarity"`
	}
	if err := yaml.Unmarshal([]byte("similarity: {metric: bleu}"), &bad); err == nil {
		t.Error("unknown metric decoded without error")
	}
}
