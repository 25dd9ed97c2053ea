package grpo

import (
	"math"
	"reflect"
	"testing"

	"pgregory.net/rapid"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func nearAll(a, b [][]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if !near(a[i][j], b[i][j]) {
				return false
			}
		}
	}
	return true
}

func TestAdvantagesGolden(t *testing.T) {
	off := false
	// Group [1 2 3]: mean 2, unbiased std sqrt((1+0+1)/2) = 1.
	// Group [5 5]: mean 5, std 0. Group [7]: a single sample.
	// Batch [1 2 3 5 5 7]: mean 23/6, deviations -17/6 -11/6 -5/6 7/6 7/6 19/6,
	// squares (289+121+25+49+49+361)/36 = 894/36, /5 = 4.9666..., std 2.22860...
	rewards := [][]float64{{1, 2, 3}, {5, 5}, {7}}
	batchStd := math.Sqrt(894.0 / 36 / 5)
	e := DefaultEpsilon
	for _, c := range []struct {
		name string
		cfg  AdvantageConfig
		want [][]float64
	}{
		{"grpo", AdvantageConfig{}, [][]float64{{-1 / (1 + e), 0, 1 / (1 + e)}, {0, 0}, {0}}},
		{"grpo eps 0.5", AdvantageConfig{Epsilon: 0.5}, [][]float64{{-1 / 1.5, 0, 1 / 1.5}, {0, 0}, {0}}},
		{"grpo no std", AdvantageConfig{NormAdvByStdInGRPO: &off}, [][]float64{{-1, 0, 1}, {0, 0}, {0}}},
		{"dr_grpo", AdvantageConfig{Estimator: EstimatorDrGRPO}, [][]float64{{-1, 0, 1}, {0, 0}, {0}}},
		// rloo: 1 - mean(2,3) = -1.5; 2 - mean(1,3) = 0; 3 - mean(1,2) = 1.5.
		{"rloo", AdvantageConfig{Estimator: EstimatorRLOO}, [][]float64{{-1.5, 0, 1.5}, {0, 0}, {0}}},
		{"batch_std", AdvantageConfig{Estimator: EstimatorBatchStd},
			[][]float64{{-1 / (batchStd + e), 0, 1 / (batchStd + e)}, {0, 0}, {0}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Advantages(c.cfg, rewards)
			if err != nil {
				t.Fatal(err)
			}
			if !nearAll(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestAdvantagesErrors(t *testing.T) {
	if _, err := Advantages(AdvantageConfig{Estimator: "ppo"}, nil); err == nil {
		t.Error("unknown estimator accepted")
	}
	if _, err := Advantages(AdvantageConfig{}, [][]float64{{1, math.NaN()}}); err == nil {
		t.Error("NaN reward accepted")
	}
	if _, err := Advantages(AdvantageConfig{FilterGroups: FilterGroupsConfig{Metric: "score"}}, nil); err == nil {
		t.Error("filter on shaped score accepted")
	}
}

func TestAdvantagesSumToZero(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		est := rapid.SampledFrom([]Estimator{EstimatorGRPO, EstimatorDrGRPO, EstimatorBatchStd, EstimatorRLOO}).Draw(t, "est")
		groups := rapid.SliceOfN(rapid.SliceOfN(rapid.Float64Range(-3, 3), 1, 9), 1, 5).Draw(t, "rewards")
		adv, err := Advantages(AdvantageConfig{Estimator: est}, groups)
		if err != nil {
			t.Fatal(err)
		}
		for g, a := range adv {
			sum, scale := 0.0, 1.0
			for i, x := range a {
				sum += x
				scale = math.Max(scale, math.Abs(x))
				// Advantages keep the order of the rewards.
				for j := range a {
					if groups[g][i] < groups[g][j] && a[i] > a[j]+1e-9 {
						t.Fatalf("order broken in group %d: %v -> %v", g, groups[g], a)
					}
				}
			}
			if math.Abs(sum) > 1e-9*scale*float64(len(a)) {
				t.Fatalf("%s group %d: advantages %v sum to %v", est, g, a, sum)
			}
		}
	})
}

func TestKeepGroupsAndDynamicSampling(t *testing.T) {
	outcomes := [][]bool{{true, true}, {true, false}, {false, false}, {false, true, false}, {true}}
	on := FilterGroupsConfig{Enable: true, MaxNumGenBatches: 3}
	if got := KeepGroups(on, outcomes); !reflect.DeepEqual(got, []int{1, 3}) {
		t.Errorf("KeepGroups on = %v, want [1 3]", got)
	}
	if got := KeepGroups(FilterGroupsConfig{}, outcomes); !reflect.DeepEqual(got, []int{0, 1, 2, 3, 4}) {
		t.Errorf("KeepGroups off = %v", got)
	}
	for _, c := range []struct {
		name       string
		cfg        FilterGroupsConfig
		target, gb int
		want       SamplingDecision
	}{
		{"enough", on, 2, 1, SamplingDecision{Keep: []int{1, 3}}},
		{"trim to target", on, 1, 1, SamplingDecision{Keep: []int{1}}},
		{"draw more", on, 3, 1, SamplingDecision{Keep: []int{1, 3}, DrawMore: true}},
		{"exhausted", on, 3, 3, SamplingDecision{Keep: []int{1, 3}, Exhausted: true}},
		{"unbounded", FilterGroupsConfig{Enable: true}, 3, 100, SamplingDecision{Keep: []int{1, 3}, DrawMore: true}},
		{"filter off", FilterGroupsConfig{}, 3, 1, SamplingDecision{Keep: []int{0, 1, 2}}},
	} {
		if got := DynamicSampling(c.cfg, outcomes, c.target, c.gb); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}
