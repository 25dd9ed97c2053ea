package trainer

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// chart is one PNG: a title and the series drawn on it.
type chart struct {
	file, title, ylabel string
	series              []series
	// grpoOnly charts only the GRPO stages' steps.
	grpoOnly bool
}

type series struct {
	name string
	get  func(StepMetrics) float64
}

func charts(ms []StepMetrics) []chart {
	cs := []chart{
		{file: "loss.png", title: "Loss", ylabel: "loss", series: []series{{"loss", func(m StepMetrics) float64 { return m.Loss }}}},
		{file: "reward.png", title: "Reward", ylabel: "reward", grpoOnly: true, series: []series{
			{"reward_mean", func(m StepMetrics) float64 { return m.RewardMean }},
			{"accuracy", func(m StepMetrics) float64 { return m.Accuracy }},
		}},
		{file: "paradigms.png", title: "Paradigms", ylabel: "share", grpoOnly: true, series: []series{
			{"program", func(m StepMetrics) float64 { return m.ProgramShare }},
			{"text (fallback)", func(m StepMetrics) float64 { return m.TextShare }},
			{"invalid", func(m StepMetrics) float64 { return m.InvalidShare }},
			{"exec success", func(m StepMetrics) float64 { return m.ExecSuccess }},
		}},
		{file: "kl_clip.png", title: "KL and clip fraction", ylabel: "value", grpoOnly: true, series: []series{
			{"kl", func(m StepMetrics) float64 { return m.KL }},
			{"clip fraction", func(m StepMetrics) float64 { return m.ClipFraction }},
		}},
		{file: "lengths.png", title: "Lengths", ylabel: "tokens", series: []series{
			{"prompt", func(m StepMetrics) float64 { return m.PromptLen }},
			{"completion", func(m StepMetrics) float64 { return m.CompletionLen }},
		}},
		{file: "throughput.png", title: "Throughput", ylabel: "per second", series: []series{
			{"samples/s", func(m StepMetrics) float64 { return m.SamplesPerSec }},
			{"tokens/s / 100", func(m StepMetrics) float64 { return m.TokensPerSec / 100 }},
		}},
	}
	// One line per reward component.
	comps := map[string]bool{}
	for _, m := range ms {
		for k := range m.Rewards {
			comps[k] = true
		}
	}
	names := make([]string, 0, len(comps))
	for k := range comps {
		names = append(names, k)
	}
	sort.Strings(names)
	rc := chart{file: "reward_components.png", title: "Reward components (mean per sample)", ylabel: "reward", grpoOnly: true}
	for _, k := range names {
		rc.series = append(rc.series, series{k, func(m StepMetrics) float64 { return m.Rewards[k] }})
	}
	if len(rc.series) > 0 {
		cs = append(cs, rc)
	}
	// Drops and off-policy lag, only when the run had any.
	var drops bool
	for _, m := range ms {
		drops = drops || m.StalenessMax > 0 || m.StaleDropped > 0 || m.SandboxErrors > 0
	}
	if drops {
		cs = append(cs, chart{file: "staleness.png", title: "Off-policy lag and dropped samples", ylabel: "steps / count", grpoOnly: true, series: []series{
			{"staleness mean", func(m StepMetrics) float64 { return m.StalenessMean }},
			{"stale groups dropped", func(m StepMetrics) float64 { return float64(m.StaleDropped) }},
			{"sandbox errors", func(m StepMetrics) float64 { return float64(m.SandboxErrors) }},
		}})
	}
	return cs
}

// Plot draws the curves of a run directory's metrics.jsonl as PNG files
// under RUN_DIR/plots and returns their paths.
func Plot(runDir string) ([]string, error) {
	ms, err := ReadMetrics(filepath.Join(runDir, "metrics.jsonl"))
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("plot: %s has no steps yet", filepath.Join(runDir, "metrics.jsonl"))
	}
	dir := filepath.Join(runDir, "plots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var out []string
	for _, c := range charts(ms) {
		p := plot.New()
		p.Title.Text = c.title
		p.X.Label.Text = "step"
		p.Y.Label.Text = c.ylabel
		p.Add(plotter.NewGrid())
		var args []any
		lo, hi := 0.0, 0.0
		for _, s := range c.series {
			var xys plotter.XYs
			for _, m := range ms {
				if c.grpoOnly && m.Stage != StageGRPO && m.Stage != StageLTIGRPO {
					continue
				}
				xys = append(xys, plotter.XY{X: float64(m.Step), Y: s.get(m)})
			}
			if len(xys) > 0 {
				lo, hi = xys[0].X, xys[len(xys)-1].X
			}
			if len(xys) > 0 {
				args = append(args, s.name, xys)
			}
		}
		if len(args) == 0 {
			continue
		}
		if err := plotutil.AddLines(p, args...); err != nil {
			return out, fmt.Errorf("plot %s: %w", c.file, err)
		}
		p.Legend.Top = true
		p.Legend.Left = true
		stageBoundaries(p, ms, lo, hi)
		path := filepath.Join(dir, c.file)
		if err := p.Save(9*vg.Inch, 4*vg.Inch, path); err != nil {
			return out, fmt.Errorf("plot %s: %w", c.file, err)
		}
		out = append(out, path)
	}
	return out, nil
}

// stageBoundaries marks where each stage starts, within the plotted steps
// [lo, hi], with a dashed grey line.
func stageBoundaries(p *plot.Plot, ms []StepMetrics, lo, hi float64) {
	for i := 1; i < len(ms); i++ {
		if ms[i].Stage == ms[i-1].Stage {
			continue
		}
		x := float64(ms[i].Step) - 0.5
		if x < lo || x > hi {
			continue
		}
		l, err := plotter.NewLine(plotter.XYs{{X: x, Y: p.Y.Min}, {X: x, Y: p.Y.Max}})
		if err != nil {
			continue
		}
		l.Color = color.Gray{Y: 160}
		l.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
		p.Add(l)
	}
}
