package eval

import (
	"fmt"
	"html/template"
	"strings"
)

// The HTML report is one self-contained page: inline CSS and inline SVG
// charts, no scripts and no external assets.

type svgBar struct {
	X, Y, W, H float64
	Fill       string
	Title      string
}

type svgText struct {
	X, Y   float64
	Anchor string
	Text   string
}

type svgChart struct {
	W, H  float64
	Bars  []svgBar
	Texts []svgText
	Lines [][4]float64
}

var paradigmColors = []struct{ name, color string }{
	{"all", "#4c72b0"}, {"program", "#55a868"}, {"text", "#dd8452"},
}

// accuracyChart draws, per benchmark, the accuracy over all samples and on
// the program and text samples.
func (r *Report) accuracyChart() svgChart {
	const left, top, plotH, groupW, barW = 50.0, 20.0, 220.0, 150.0, 36.0
	const legendItemW = 110.0
	// Wide enough for the bars and for the legend row under them.
	c := svgChart{W: max(left+groupW*float64(max(len(r.Benchmarks), 1))+20, left+legendItemW*float64(len(paradigmColors))+20), H: top + plotH + 60}
	for t := 0; t <= 100; t += 25 {
		y := top + plotH*(1-float64(t)/100)
		c.Lines = append(c.Lines, [4]float64{left, y, c.W - 10, y})
		c.Texts = append(c.Texts, svgText{left - 6, y + 4, "end", fmt.Sprintf("%d", t)})
	}
	for i, br := range r.Benchmarks {
		x0 := left + groupW*float64(i) + 10
		vals := []struct {
			v  float64
			ok bool
			n  int
		}{{br.Metrics["accuracy"], true, br.Samples}}
		for _, p := range []string{"program", "text"} {
			st, ok := br.Paradigms[p]
			vals = append(vals, struct {
				v  float64
				ok bool
				n  int
			}{st.Accuracy, ok, st.Samples})
		}
		for j, v := range vals {
			if !v.ok {
				continue
			}
			h := plotH * clamp01(v.v)
			x := x0 + float64(j)*(barW+4)
			c.Bars = append(c.Bars, svgBar{x, top + plotH - h, barW, h, paradigmColors[j].color,
				fmt.Sprintf("%s %s: %.2f%% of %d samples", br.Benchmark, paradigmColors[j].name, 100*v.v, v.n)})
			c.Texts = append(c.Texts, svgText{x + barW/2, top + plotH - h - 3, "middle", fmt.Sprintf("%.1f", 100*v.v)})
		}
		c.Texts = append(c.Texts, svgText{x0 + 1.5*barW + 4, top + plotH + 18, "middle", br.Benchmark})
	}
	for j, pc := range paradigmColors {
		x := left + float64(j)*legendItemW
		c.Bars = append(c.Bars, svgBar{x, top + plotH + 34, 12, 12, pc.color, pc.name})
		c.Texts = append(c.Texts, svgText{x + 16, top + plotH + 44, "start", pc.name})
	}
	return c
}

// failureChart draws the failures by kind, all benchmarks together.
func (r *Report) failureChart() (svgChart, bool) {
	counts := map[string]int{}
	for _, br := range r.Benchmarks {
		for k, n := range br.Failures {
			counts[k] += n
		}
	}
	if len(counts) == 0 {
		return svgChart{}, false
	}
	keys := sortedKeys(counts)
	maxN := 0
	for _, n := range counts {
		maxN = max(maxN, n)
	}
	const left, rowH, plotW = 140.0, 24.0, 360.0
	c := svgChart{W: left + plotW + 60, H: rowH*float64(len(keys)) + 10}
	for i, k := range keys {
		y := 5 + rowH*float64(i)
		w := plotW * float64(counts[k]) / float64(maxN)
		c.Bars = append(c.Bars, svgBar{left, y, w, rowH - 6, "#c44e52", fmt.Sprintf("%s: %d samples", k, counts[k])})
		c.Texts = append(c.Texts, svgText{left - 6, y + rowH/2 + 1, "end", k}, svgText{left + w + 4, y + rowH/2 + 1, "start", fmt.Sprint(counts[k])})
	}
	return c, true
}

func clamp01(v float64) float64 { return min(max(v, 0), 1) }

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":   func(v float64) string { return fmt.Sprintf("%.2f", 100*v) },
	"keys":  sortedKeys[any],
	"join":  strings.Join,
	"other": otherMetrics,
	"para": func(m map[string]ParadigmStats, p string) *ParadigmStats {
		if st, ok := m[p]; ok {
			return &st
		}
		return nil
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>tabler1 eval report</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f3f3f3}pre{background:#f7f7f7;padding:8px;font-size:12px;white-space:pre-wrap;overflow-wrap:anywhere}
svg{overflow:visible}svg text{font-size:12px;fill:#333}.muted{color:#777}
.banner{background:#fdecea;border:2px solid #c44e52;padding:10px 14px;margin:0 0 1em 0}
</style></head><body>
{{with .Requests}}<div class="banner" role="alert"><b>{{.Failed}} of {{.Samples}} samples got no answer from the model</b>
({{range $i, $k := .Kinds}}{{if $i}}, {{end}}{{$k.Kind}}: {{$k.N}}{{end}}); they count as wrong in every score below.
{{if .First}}First error:<pre>{{.First}}</pre>{{end}}</div>{{end}}
<h1>tabler1 eval report</h1>
<ul>{{range $k := keys .Meta}}<li>{{$k}}: {{index $.Meta $k}}</li>{{end}}<li>samples per example (k): {{.K}}</li></ul>
<h2>Accuracy per benchmark and paradigm</h2>
{{template "chart" .Acc}}
<table><tr><th>benchmark</th><th>n</th><th>accuracy</th><th>program</th><th>text</th><th>invalid</th>{{if gt .K 1}}<th>pass@1</th><th>pass@k</th><th>avg@k</th>{{end}}<th>other metrics</th></tr>
{{range .Benchmarks}}<tr><td>{{.Benchmark}}</td><td>{{.N}}</td><td>{{pct (index .Metrics "accuracy")}}</td>
{{$b := .}}{{range $p := $.Paradigms}}<td>{{with para $b.Paradigms $p}}{{pct .Accuracy}} <span class="muted">({{.Samples}})</span>{{else}}–{{end}}</td>{{end}}
{{if gt $.K 1}}<td>{{pct (index .PassAt 1)}}</td><td>{{pct .PassAtK}}</td><td>{{pct .AvgAtK}}</td>{{end}}<td>{{other .Metrics}}</td></tr>
{{end}}</table>
<p class="muted">Paradigm cells: accuracy on the samples answered in that paradigm (number of samples).{{if gt .K 1}} pass@1 is the unbiased estimate from all k samples (Chen et al. 2021); report.json has it for every power of two up to k.{{end}}</p>
<h2>Execution failures</h2>
{{if .HasFail}}{{template "chart" .Fail}}
{{range .Benchmarks}}{{if .Failures}}<h3>{{.Benchmark}}</h3>
<table><tr><th>failure</th><th>samples</th></tr>{{$b := .}}{{range $k := keys .FailuresAny}}<tr><td>{{$k}}</td><td>{{index $b.Failures $k}}</td></tr>{{end}}</table>
{{range $k := keys .FailureExamplesAny}}{{range index $b.FailureExamples $k}}
<p><b>{{$k}}</b> <code>{{.ID}}</code>: {{.Question}}</p>{{if .Detail}}<pre>{{.Detail}}</pre>{{end}}{{if .Program}}<pre>{{.Program}}</pre>{{else if .Output}}<pre>{{.Output}}</pre>{{end}}
{{end}}{{end}}{{end}}{{end}}
{{else}}<p>None.</p>{{end}}
<h2>Wrong answers</h2>
{{if .HasWrong}}{{range .Benchmarks}}{{if .WrongAnswers}}<h3>{{.Benchmark}}</h3>
<p class="muted">Samples that answered, wrongly (at most 20 per benchmark; report.json has the same list).</p>
<table><tr><th>id</th><th>question</th><th>gold</th><th>prediction</th><th>paradigm</th></tr>
{{range .WrongAnswers}}<tr><td><code>{{.ID}}</code></td><td>{{.Question}}</td><td>{{.Gold}}</td><td>{{.Prediction}}</td><td>{{.Paradigm}}{{if .Program}}<pre>{{.Program}}</pre>{{end}}</td></tr>
{{end}}</table>{{end}}{{end}}
{{else}}<p>None.</p>{{end}}
</body></html>
{{define "chart"}}<svg xmlns="http://www.w3.org/2000/svg" width="{{.W}}" height="{{.H}}" viewBox="0 0 {{.W}} {{.H}}" role="img">
{{range .Lines}}<line x1="{{index . 0}}" y1="{{index . 1}}" x2="{{index . 2}}" y2="{{index . 3}}" stroke="#e2e2e2"/>{{end}}
{{range .Bars}}<rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" fill="{{.Fill}}"><title>{{.Title}}</title></rect>{{end}}
{{range .Texts}}<text x="{{.X}}" y="{{.Y}}" text-anchor="{{.Anchor}}">{{.Text}}</text>{{end}}
</svg>{{end}}`))

// requestBanner is what the banner says of samples whose request failed.
type requestBanner struct {
	Failed, Samples int
	Kinds           []struct {
		Kind string
		N    int
	}
	First string
}

// requestFailures summarises the samples the model never answered
// (request_error, request_rejected); nil when there are none.
func (r *Report) requestFailures() *requestBanner {
	b := &requestBanner{}
	for _, br := range r.Benchmarks {
		b.Samples += br.Samples
	}
	for _, kind := range []string{FailRequest, FailRejected} {
		n := 0
		for _, br := range r.Benchmarks {
			n += br.Failures[kind]
			if fes := br.FailureExamples[kind]; b.First == "" && len(fes) > 0 {
				b.First = fes[0].Detail
			}
		}
		if n > 0 {
			b.Failed += n
			b.Kinds = append(b.Kinds, struct {
				Kind string
				N    int
			}{kind, n})
		}
	}
	if b.Failed == 0 {
		return nil
	}
	return b
}

// htmlBench adds map[string]any views of the maps for the template's keys.
type htmlBench struct {
	BenchReport
	FailuresAny        map[string]any
	FailureExamplesAny map[string]any
}

func otherMetrics(m Metrics) string {
	var out []string
	for _, k := range sortedKeys(m) {
		if k == "accuracy" || k == "n" || k == "unknown" || k == "missing" || strings.Contains(k, "/") {
			continue
		}
		out = append(out, fmt.Sprintf("%s %.4g", k, m[k]))
	}
	return strings.Join(out, ", ")
}

// HTML renders the report as a self-contained HTML page with inline SVG
// charts.
func (r *Report) HTML() (string, error) {
	fail, hasFail := r.failureChart()
	var benches []htmlBench
	for _, br := range r.Benchmarks {
		hb := htmlBench{BenchReport: br, FailuresAny: map[string]any{}, FailureExamplesAny: map[string]any{}}
		for k, v := range br.Failures {
			hb.FailuresAny[k] = v
		}
		for k, v := range br.FailureExamples {
			hb.FailureExamplesAny[k] = v
		}
		benches = append(benches, hb)
	}
	meta := r.Meta
	if meta == nil {
		meta = map[string]any{}
	}
	hasWrong := false
	for _, br := range r.Benchmarks {
		hasWrong = hasWrong || len(br.WrongAnswers) > 0
	}
	var b strings.Builder
	err := reportTmpl.Execute(&b, map[string]any{
		"Meta": meta, "K": r.K, "Benchmarks": benches, "Acc": r.accuracyChart(), "Fail": fail, "HasFail": hasFail,
		"Paradigms": []string{"program", "text", "invalid"}, "HasWrong": hasWrong, "Requests": r.requestFailures(),
	})
	if err != nil {
		return "", fmt.Errorf("rendering report.html: %w", err)
	}
	return b.String(), nil
}
