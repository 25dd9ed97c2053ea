package trainer

import (
	"os"
	"reflect"
	"regexp"
	"testing"

	"tabler1/grpo"
)

// TestSmokeConfigKeepsGRPODefaults decodes configs/smoke.yaml through the
// trainer: every loss and reward key the file omits has grpo's default
// value, and with its loss and rewards sections removed the decoded
// configuration equals grpo's defaults exactly (one set of defaults).
func TestSmokeConfigKeepsGRPODefaults(t *testing.T) {
	b, err := os.ReadFile("../configs/smoke.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	si := grpoStage(t, cfg)
	want := grpo.DefaultLossConfig()
	want.ClipRatioHigh, want.LossAggMode = 0.28, grpo.AggTokenMean // as smoke.yaml sets them
	if got := cfg.Stages[si].Loss; got != want {
		t.Errorf("smoke.yaml's loss decodes to %+v; want grpo's defaults but for its keys, %+v", got, want)
	}
	if got := cfg.Rewards; got.CorrectThreshold != grpo.DefaultRewardConfig().CorrectThreshold ||
		!reflect.DeepEqual(got.Similarity, grpo.DefaultRewardConfig().Similarity) {
		t.Errorf("smoke.yaml's rewards decode to %+v; want grpo's defaults for the keys it omits", got)
	}

	bare := regexp.MustCompile(`(?m)^    loss:\n(      .*\n)+`).ReplaceAll(b, nil)
	bare = regexp.MustCompile(`(?m)^rewards:\n(  .*\n)+`).ReplaceAll(bare, nil)
	if string(bare) == string(b) {
		t.Fatal("could not remove the loss and rewards sections of smoke.yaml")
	}
	cfg, err = ParseConfig(bare)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Stages[grpoStage(t, cfg)].Loss; got != grpo.DefaultLossConfig() {
		t.Errorf("a stage without loss keys decodes to %+v; want grpo.DefaultLossConfig %+v", got, grpo.DefaultLossConfig())
	}
	if got := cfg.Rewards; !reflect.DeepEqual(got, grpo.DefaultRewardConfig()) {
		t.Errorf("a config without rewards decodes to %+v; want grpo.DefaultRewardConfig %+v", got, grpo.DefaultRewardConfig())
	}
}

func grpoStage(t *testing.T, cfg *Config) int {
	t.Helper()
	for i, st := range cfg.Stages {
		if st.Kind == StageGRPO {
			return i
		}
	}
	t.Fatal("no grpo stage")
	return -1
}
