package trainer

import (
	"fmt"
	"io"

	"github.com/schollz/progressbar/v3"
)

// progress shows the run's advance: a bar on a terminal, one plain line per
// step elsewhere (logs, CI), or nothing.
type progress struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

func newProgress(w io.Writer, mode string, terminal bool, total, done int) *progress {
	if w == nil || mode == "none" {
		return &progress{}
	}
	if mode == "bar" || (mode == "auto" && terminal) {
		bar := progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("train"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
		)
		_ = bar.Set(done)
		return &progress{bar: bar}
	}
	return &progress{w: w}
}

func (p *progress) step(m StepMetrics) {
	switch {
	case p.bar != nil:
		p.bar.Describe(fmt.Sprintf("%s loss %.4f reward %.3f", m.Stage, m.Loss, m.RewardMean))
		_ = p.bar.Set(m.Step)
	case p.w != nil:
		fmt.Fprintf(p.w, "step %d %s loss %.4f reward %.3f acc %.3f program %.2f exec_ok %.2f %.2fs\n",
			m.Step, m.Stage, m.Loss, m.RewardMean, m.Accuracy, m.ProgramShare, m.ExecSuccess, m.StepSeconds)
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
