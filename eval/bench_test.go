package eval

import (
	"testing"
)

// BenchmarkScore measures scoring throughput per benchmark on its dev
// sample with gold answers as predictions:
//
//	go test -run XXX -bench Score -benchtime 20x ./eval/
func BenchmarkScore(b *testing.B) {
	for _, bench := range Benchmarks() {
		exs := loadBench(b, bench)
		preds := goldPredictions(exs)
		b.Run(bench, func(b *testing.B) {
			for b.Loop() {
				if _, err := ScorePredictions(bench, exs, preds); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(exs))/b.Elapsed().Seconds(), "examples/s")
		})
	}
}
