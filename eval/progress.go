package eval

import (
	"fmt"
	"io"

	"github.com/schollz/progressbar/v3"
)

// progress reports samples done: a bar on a terminal, a plain line every
// tenth of the run elsewhere (logs stay readable).
type progress struct {
	w        io.Writer
	bar      *progressbar.ProgressBar
	total    int
	done     int
	lastTick int
}

func newProgress(w io.Writer, bar bool, total, done int) *progress {
	p := &progress{w: w, total: total, done: done}
	if w == nil {
		return p
	}
	if bar {
		p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("eval"),
			progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish())
		_ = p.bar.Set(done)
	} else {
		fmt.Fprintf(w, "eval: %d samples to run (%d cached of %d)\n", total-done, done, total)
	}
	return p
}

func (p *progress) add(n int) {
	p.done += n
	if p.w == nil {
		return
	}
	if p.bar != nil {
		_ = p.bar.Add(n)
		return
	}
	if tick := p.done * 10 / max(p.total, 1); tick > p.lastTick || p.done == p.total {
		p.lastTick = tick
		fmt.Fprintf(p.w, "eval: %d/%d samples (%d%%)\n", p.done, p.total, p.done*100/max(p.total, 1))
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
