package grpo

import (
	"testing"

	"tabler1/layouts"
)

func TestPerturbTable(t *testing.T) {
	src := awards()
	src.Rows[0] = append(src.Rows[0][:1], "Che Fu")
	src.Rows[1][1] = ""
	src.Rows[2][0] = "-1,234.50"
	before := src.Clone()
	p := PerturbTable(src, 7)
	if !layouts.Equal(src, before) {
		t.Fatal("PerturbTable changed its input")
	}
	if p.NumRows() != src.NumRows() || p.NumCols() != src.NumCols() || !sameHeader(p.Header, src.Header) {
		t.Fatalf("shape or header changed: %+v", p)
	}
	for i, row := range src.Rows {
		for j, cell := range row {
			got := p.Rows[i][j]
			if cell == "" {
				if got != "" {
					t.Errorf("empty cell (%d,%d) became %q", i, j, got)
				}
				continue
			}
			if got == cell {
				t.Errorf("cell (%d,%d) %q unchanged", i, j, cell)
			}
			_, wasNum := layouts.ParseNumber(cell)
			_, isNum := layouts.ParseNumber(got)
			if wasNum != isNum {
				t.Errorf("cell (%d,%d) %q -> %q changed kind", i, j, cell, got)
			}
		}
	}
	if !layouts.Equal(p, PerturbTable(src, 7)) {
		t.Error("same seed, different tables")
	}
	if layouts.Equal(p, PerturbTable(src, 8)) {
		t.Error("different seeds, same table")
	}
	if PerturbTable(nil, 1) != nil {
		t.Error("nil table")
	}
}
