package ablate

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

	"tabler1/trainer"
)

// curve is one chart of training metrics over steps.
type curve struct {
	file, title string
	get         func(trainer.StepMetrics) float64
	grpoOnly    bool
}

var curves = []curve{
	{"grpo_reward.png", "GRPO reward (mean over the step's samples)", func(m trainer.StepMetrics) float64 { return m.RewardMean }, true},
	{"grpo_accuracy.png", "GRPO training accuracy", func(m trainer.StepMetrics) float64 { return m.Accuracy }, true},
	{"grpo_program_share.png", "GRPO program share", func(m trainer.StepMetrics) float64 { return m.ProgramShare }, true},
	{"loss.png", "training loss (all stages)", func(m trainer.StepMetrics) float64 { return m.Loss }, false},
}

// Plot draws, into dir, each curve with one line per arm (the mean over
// seeds at each step) and a band of ± one standard deviation, and
// heldout_accuracy.png: each arm's held-out accuracy per seed with its mean
// and bootstrap interval. runDir maps an arm and seed to its training run
// directory. It returns the files written.
func Plot(s *Study, t Table, runDir func(arm string, seed uint64) string, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	runs := map[string][][]trainer.StepMetrics{}
	for _, a := range s.Arms {
		for _, seed := range s.Seeds {
			ms, err := trainer.ReadMetrics(filepath.Join(runDir(a.Name, seed), "metrics.jsonl"))
			if err != nil {
				return nil, fmt.Errorf("plot: arm %q seed %d: %w", a.Name, seed, err)
			}
			runs[a.Name] = append(runs[a.Name], ms)
		}
	}
	var out []string
	for _, c := range curves {
		p := plot.New()
		p.Title.Text = c.title
		p.X.Label.Text = "step"
		p.Add(plotter.NewGrid())
		drawn := false
		for i, a := range s.Arms {
			mean, band := meanBand(runs[a.Name], c)
			if len(mean) == 0 {
				continue
			}
			col := plotutil.Color(i)
			poly, err := plotter.NewPolygon(band)
			if err != nil {
				return out, err
			}
			r, g, b, _ := col.RGBA()
			poly.Color = color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 50}
			poly.LineStyle.Width = 0
			line, err := plotter.NewLine(mean)
			if err != nil {
				return out, err
			}
			line.Color = col
			line.Width = vg.Points(1.5)
			p.Add(poly, line)
			p.Legend.Add(a.Name, line)
			drawn = true
		}
		if !drawn {
			continue
		}
		p.Legend.Top, p.Legend.Left = true, true
		path := filepath.Join(dir, c.file)
		if err := p.Save(9*vg.Inch, 4*vg.Inch, path); err != nil {
			return out, fmt.Errorf("plot %s: %w", c.file, err)
		}
		out = append(out, path)
	}
	path, err := plotHeldOut(t, filepath.Join(dir, "heldout_accuracy.png"))
	if err != nil {
		return out, err
	}
	if path != "" {
		out = append(out, path)
	}
	return out, nil
}

// meanBand is the mean over runs at each step the runs share, and the
// polygon of mean ± sd around it.
func meanBand(runs [][]trainer.StepMetrics, c curve) (plotter.XYs, plotter.XYs) {
	byStep := map[int][]float64{}
	for _, ms := range runs {
		for _, m := range ms {
			if c.grpoOnly && m.Stage != trainer.StageGRPO && m.Stage != trainer.StageLTIGRPO {
				continue
			}
			byStep[m.Step] = append(byStep[m.Step], c.get(m))
		}
	}
	steps := make([]int, 0, len(byStep))
	for st := range byStep {
		steps = append(steps, st)
	}
	sort.Ints(steps)
	var mean, upper, lower plotter.XYs
	for _, st := range steps {
		xs := byStep[st]
		m, sd := Mean(xs), SD(xs)
		mean = append(mean, plotter.XY{X: float64(st), Y: m})
		upper = append(upper, plotter.XY{X: float64(st), Y: m + sd})
		lower = append(lower, plotter.XY{X: float64(st), Y: m - sd})
	}
	band := append(plotter.XYs(nil), upper...)
	for i := len(lower) - 1; i >= 0; i-- {
		band = append(band, lower[i])
	}
	return mean, band
}

// plotHeldOut draws each arm's held-out accuracy: one point per seed, and
// the mean with its bootstrap interval as an error bar. No held-out
// accuracy: no file, "".
func plotHeldOut(t Table, path string) (string, error) {
	p := plot.New()
	p.Title.Text = "held-out accuracy of the final checkpoint (points: seeds; bar: mean, 95% bootstrap CI)"
	p.Y.Label.Text = "accuracy"
	var names []string
	drawn := false
	for i, a := range t.Arms {
		names = append(names, a.Arm)
		xs := a.PerSeed["heldout/accuracy"]
		if len(xs) == 0 {
			continue
		}
		pts := make(plotter.XYs, len(xs))
		for j, v := range xs {
			pts[j] = plotter.XY{X: float64(i) + 0.1*float64(j-len(xs)/2), Y: v}
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return "", err
		}
		sc.Color = plotutil.Color(i)
		s := a.Metrics["heldout/accuracy"]
		bars, err := plotter.NewYErrorBars(errPoint{x: float64(i), y: s.Mean, lo: s.Mean - s.Lo, hi: s.Hi - s.Mean})
		if err != nil {
			return "", err
		}
		bars.Color = color.Black
		p.Add(sc, bars)
		drawn = true
	}
	if !drawn {
		return "", nil
	}
	p.NominalX(names...)
	p.Y.Min, p.Y.Max = 0, 1
	p.Add(plotter.NewGrid())
	if err := p.Save(9*vg.Inch, 4*vg.Inch, path); err != nil {
		return "", fmt.Errorf("plot %s: %w", filepath.Base(path), err)
	}
	return path, nil
}

// errPoint is one point with an asymmetric vertical error bar.
type errPoint struct{ x, y, lo, hi float64 }

func (e errPoint) Len() int                      { return 1 }
func (e errPoint) XY(int) (float64, float64)     { return e.x, e.y }
func (e errPoint) YError(int) (float64, float64) { return e.lo, e.hi }
