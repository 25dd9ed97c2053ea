package trainer

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// chart is one PNG: a title and one panel (one y axis) per quantity.
type chart struct {
	file, title string
	panels      []panel
}

// panel is one axis: series of one quantity, over the steps of the stages
// it keeps.
type panel struct {
	ylabel string
	series []series
	// stages keeps the steps of these stage kinds (nil: every step).
	stages []string
}

type series struct {
	name string
	get  func(StepMetrics) float64
}

var (
	sftStages  = []string{StageLTISFT, StageSFT}
	grpoStages = []string{StageGRPO, StageLTIGRPO}
)

func charts(ms []StepMetrics) []chart {
	one := func(name string, get func(StepMetrics) float64) []series { return []series{{name, get}} }
	cs := []chart{
		// SFT's cross-entropy and GRPO's surrogate loss are different
		// quantities on different scales: one axis each.
		{file: "loss.png", title: "Loss", panels: []panel{
			{ylabel: "SFT loss (nats/token)", stages: sftStages, series: one("sft loss", func(m StepMetrics) float64 { return m.Loss })},
			{ylabel: "GRPO loss", stages: grpoStages, series: one("grpo loss", func(m StepMetrics) float64 { return m.Loss })},
		}},
		{file: "reward.png", title: "Reward and accuracy", panels: []panel{
			{ylabel: "reward (mean)", stages: grpoStages, series: one("reward", func(m StepMetrics) float64 { return m.RewardMean })},
			{ylabel: "accuracy", stages: grpoStages, series: one("accuracy", func(m StepMetrics) float64 { return m.Accuracy })},
		}},
		{file: "paradigms.png", title: "Paradigms", panels: []panel{
			{ylabel: "share of samples", stages: grpoStages, series: []series{
				{"program", func(m StepMetrics) float64 { return m.ProgramShare }},
				{"text (fallback)", func(m StepMetrics) float64 { return m.TextShare }},
				{"invalid", func(m StepMetrics) float64 { return m.InvalidShare }},
			}},
			{ylabel: "programs run", stages: grpoStages, series: one("exec success", func(m StepMetrics) float64 { return m.ExecSuccess })},
		}},
		{file: "kl_clip.png", title: "KL and clip fraction", panels: []panel{
			{ylabel: "KL", stages: grpoStages, series: one("kl", func(m StepMetrics) float64 { return m.KL })},
			{ylabel: "clip fraction", stages: grpoStages, series: one("clip fraction", func(m StepMetrics) float64 { return m.ClipFraction })},
		}},
		{file: "lengths.png", title: "Lengths", panels: []panel{
			{ylabel: "tokens", series: []series{
				{"prompt", func(m StepMetrics) float64 { return m.PromptLen }},
				{"completion", func(m StepMetrics) float64 { return m.CompletionLen }},
			}},
		}},
		{file: "throughput.png", title: "Throughput", panels: []panel{
			{ylabel: "samples/s", series: one("samples/s", func(m StepMetrics) float64 { return m.SamplesPerSec })},
			{ylabel: "tokens/s", series: one("tokens/s", func(m StepMetrics) float64 { return m.TokensPerSec })},
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
	rc := panel{ylabel: "reward (mean per sample)", stages: grpoStages}
	for _, k := range names {
		rc.series = append(rc.series, series{k, func(m StepMetrics) float64 { return m.Rewards[k] }})
	}
	if len(rc.series) > 0 {
		cs = append(cs, chart{file: "reward_components.png", title: "Reward components", panels: []panel{rc}})
	}
	// Drops and off-policy lag, only when the run had any.
	var drops bool
	for _, m := range ms {
		drops = drops || m.StalenessMax > 0 || m.StaleDropped > 0 || m.SandboxErrors > 0
	}
	if drops {
		cs = append(cs, chart{file: "staleness.png", title: "Off-policy lag and dropped samples", panels: []panel{
			{ylabel: "staleness (steps)", stages: grpoStages, series: one("staleness mean", func(m StepMetrics) float64 { return m.StalenessMean })},
			{ylabel: "count", stages: grpoStages, series: []series{
				{"stale groups dropped", func(m StepMetrics) float64 { return float64(m.StaleDropped) }},
				{"sandbox errors", func(m StepMetrics) float64 { return float64(m.SandboxErrors) }},
			}},
		}})
	}
	return cs
}

// Figure geometry: one panel is panelHeight tall; the legends sit in a
// column of legendWidth right of the axes, never over a curve.
const (
	plotWidth   = 10 * vg.Inch
	panelHeight = 3 * vg.Inch
	legendWidth = 1.8 * vg.Inch
)

// Plot draws the curves of a run directory's metrics.jsonl as PNG files
// under RUN_DIR/plots and returns their paths. Each curve is drawn raw
// (faint) and smoothed (an exponential moving average restarted at each
// stage); stage boundaries are dashed lines labelled with the stage that
// starts there.
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
		var plots []*plot.Plot
		var legends []plot.Legend
		for _, pn := range c.panels {
			p, leg, ok, err := drawPanel(ms, pn)
			if err != nil {
				return out, fmt.Errorf("plot %s: %w", c.file, err)
			}
			if ok {
				plots = append(plots, p)
				legends = append(legends, leg)
			}
		}
		if len(plots) == 0 {
			continue
		}
		plots[0].Title.Text = c.title
		path := filepath.Join(dir, c.file)
		if err := savePanels(path, plots, legends); err != nil {
			return out, fmt.Errorf("plot %s: %w", c.file, err)
		}
		out = append(out, path)
	}
	return out, nil
}

// drawPanel makes one axis of pn's series; ok is false when no step of its
// stages was run.
func drawPanel(ms []StepMetrics, pn panel) (*plot.Plot, plot.Legend, bool, error) {
	var kept []StepMetrics
	for _, m := range ms {
		if pn.stages == nil || containsString(pn.stages, m.Stage) {
			kept = append(kept, m)
		}
	}
	leg := plot.NewLegend()
	if len(kept) == 0 {
		return nil, leg, false, nil
	}
	p := plot.New()
	p.X.Label.Text = "step"
	p.Y.Label.Text = pn.ylabel
	p.Add(plotter.NewGrid())
	for i, s := range pn.series {
		raw := make(plotter.XYs, len(kept))
		stages := make([]string, len(kept))
		for j, m := range kept {
			raw[j] = plotter.XY{X: float64(m.Step), Y: finiteOr0(s.get(m))}
			stages[j] = m.Stage
		}
		col := plotutil.Color(i)
		faint, err := plotter.NewLine(raw)
		if err != nil {
			return nil, leg, false, err
		}
		faint.Color = withAlpha(col, 70)
		faint.Width = vg.Points(1)
		line, err := plotter.NewLine(smooth(raw, stages, smoothingWeight(len(raw))))
		if err != nil {
			return nil, leg, false, err
		}
		line.Color = col
		line.Width = vg.Points(2)
		p.Add(faint, line)
		leg.Add(s.name, line)
	}
	leg.Padding = vg.Points(3)
	leg.Add("(faint: raw)", &plotter.Line{LineStyle: draw.LineStyle{Color: color.Gray{Y: 190}, Width: vg.Points(1)}})
	stageBoundaries(p, kept)
	return p, leg, true, nil
}

// smoothingWeight is the moving average's weight of the past: stronger on
// long runs, none on a handful of steps.
func smoothingWeight(n int) float64 {
	switch {
	case n < 8:
		return 0
	case n < 50:
		return 0.6
	}
	return 0.85
}

// smooth is the exponential moving average of the ys with weight w on the
// past (TensorBoard's, debiased so the first points are not pulled to 0),
// restarted wherever stages changes: a new stage's curve does not inherit
// the last one's level.
func smooth(xys plotter.XYs, stages []string, w float64) plotter.XYs {
	out := make(plotter.XYs, len(xys))
	avg, n := 0.0, 0
	for i, p := range xys {
		if i > 0 && stages[i] != stages[i-1] {
			avg, n = 0, 0
		}
		avg = w*avg + (1-w)*p.Y
		n++
		y := avg
		if d := 1 - math.Pow(w, float64(n)); d > 0 {
			y = avg / d
		}
		out[i] = plotter.XY{X: p.X, Y: y}
	}
	return out
}

// stageBoundaries marks where each stage starts with a dashed grey line
// labelled with its name; the first stage is named at the left edge.
func stageBoundaries(p *plot.Plot, ms []StepMetrics) {
	var labels plotter.XYLabels
	for i := range ms {
		if i > 0 && ms[i].Stage == ms[i-1].Stage {
			continue
		}
		x := float64(ms[i].Step) - 0.5
		labels.XYs = append(labels.XYs, plotter.XY{X: x, Y: p.Y.Max})
		labels.Labels = append(labels.Labels, " "+ms[i].Stage)
		if i == 0 {
			continue
		}
		l, err := plotter.NewLine(plotter.XYs{{X: x, Y: p.Y.Min}, {X: x, Y: p.Y.Max}})
		if err != nil {
			continue
		}
		l.Color = color.Gray{Y: 140}
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
	}
	lb, err := plotter.NewLabels(labels)
	if err != nil {
		return
	}
	for i := range lb.TextStyle {
		lb.TextStyle[i].Color = color.Gray{Y: 80}
		lb.TextStyle[i].YAlign = draw.YTop
	}
	p.Add(lb)
}

// savePanels stacks the panels in one PNG, their x axes aligned, each
// legend in the column right of its axes.
func savePanels(path string, plots []*plot.Plot, legends []plot.Legend) error {
	img := vgimg.New(plotWidth+legendWidth, panelHeight*vg.Length(len(plots)))
	dc := draw.New(img)
	axes := draw.Crop(dc, 0, -legendWidth, 0, 0)
	grid := make([][]*plot.Plot, len(plots))
	for i, p := range plots {
		grid[i] = []*plot.Plot{p}
	}
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadTop: vg.Points(4), PadBottom: vg.Points(4), PadX: vg.Points(4), PadY: vg.Points(8)}
	canvases := plot.Align(grid, tiles, axes)
	for i, p := range plots {
		c := canvases[i][0]
		p.Draw(c)
		lc := draw.Canvas{Canvas: dc, Rectangle: vg.Rectangle{
			Min: vg.Point{X: axes.Max.X + vg.Points(6), Y: c.Min.Y},
			Max: vg.Point{X: dc.Max.X, Y: c.Max.Y - vg.Points(24)},
		}}
		legends[i].Top, legends[i].Left = true, true
		legends[i].Draw(lc)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func withAlpha(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: a}
}

func finiteOr0(y float64) float64 {
	if math.IsNaN(y) || math.IsInf(y, 0) {
		return 0
	}
	return y
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
