package layouts

import (
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		t       Table
		wantErr string
	}{
		{"ok", Table{Header: [][]string{{"a", "b"}}, Rows: [][]string{{"1", "2"}}}, ""},
		{"two levels", Table{Header: [][]string{{"a", "a"}, {"x", "y"}}, Rows: [][]string{{"1", "2"}}, RowHeaderCols: 1}, ""},
		{"no header", Table{Rows: [][]string{{"1"}}}, "no header level"},
		{"no columns", Table{Header: [][]string{{}}}, "no columns"},
		{"ragged level", Table{Header: [][]string{{"a", "b"}, {"x"}}}, "header level 1 has 1 cells, want 2"},
		{"ragged row", Table{Header: [][]string{{"a", "b"}}, Rows: [][]string{{"1", "2"}, {"3"}}}, "row 1 has 1 cells, want 2"},
		{"row headers out of range", Table{Header: [][]string{{"a"}}, RowHeaderCols: 2}, "row_header_cols is 2"},
		{"too many columns", Table{Header: [][]string{make([]string, MaxCols+1)}}, "more than the limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.t.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   Table
		want Table
	}{
		{"pad short row", Table{Header: [][]string{{"a", "b"}}, Rows: [][]string{{"1"}}},
			Table{Header: [][]string{{"a", "b"}}, Rows: [][]string{{"1", ""}}}},
		{"trim trailing empties", Table{Header: [][]string{{"a"}}, Rows: [][]string{{"1", "", ""}}},
			Table{Header: [][]string{{"a"}}, Rows: [][]string{{"1"}}}},
		{"widen for data", Table{Header: [][]string{{"a"}}, Rows: [][]string{{"1", "2"}}},
			Table{Header: [][]string{{"a", ""}}, Rows: [][]string{{"1", "2"}}}},
		{"no header", Table{Rows: [][]string{{"1", "2"}}},
			Table{Header: [][]string{{"", ""}}, Rows: [][]string{{"1", "2"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in.Clone()
			if err := got.Normalize(); err != nil {
				t.Fatal(err)
			}
			if !Equal(got, &tc.want) {
				t.Fatalf("Normalize() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestCloneIsDeep(t *testing.T) {
	a := &Table{Title: "t", Header: [][]string{{"a"}}, Rows: [][]string{{"1"}}}
	b := a.Clone()
	b.Header[0][0] = "z"
	b.Rows[0][0] = "9"
	if a.Header[0][0] != "a" || a.Rows[0][0] != "1" {
		t.Fatalf("Clone shares memory with the original: %+v", a)
	}
	if !Equal(a, a.Clone()) {
		t.Fatal("a clone differs from its original")
	}
}

func TestColumnNameAndPreview(t *testing.T) {
	tb := &Table{Header: [][]string{{"Sales", "Sales", ""}, {"2019", "2020", "Region"}}, Rows: [][]string{{"1", "2", "N"}, {"3", "4", "S"}, {"5", "6", "E"}}}
	if got := tb.FlatHeader(); strings.Join(got, ",") != "Sales | 2019,Sales | 2020,Region" {
		t.Fatalf("FlatHeader() = %q", got)
	}
	p := tb.Preview(2)
	if p.Shown != 2 || p.Rows != 3 || p.Cols != 3 || len(p.Table.Rows) != 2 || len(tb.Rows) != 3 {
		t.Fatalf("Preview(2) = %+v", p)
	}
}

// Normalize yields a table that validates, for any grid of bounded size.
func TestNormalizeProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rows := rapid.SliceOfN(rapid.SliceOfN(rapid.StringN(0, 3, 3), 0, 6), 1, 6).Draw(t, "rows")
		tb := &Table{Rows: rows}
		if err := tb.Normalize(); err != nil {
			if tb.NumCols() == 0 {
				return // all rows empty: no columns is a legitimate refusal
			}
			t.Fatalf("Normalize: %v", err)
		}
		if err := tb.Validate(); err != nil {
			t.Fatalf("Validate after Normalize: %v", err)
		}
	})
}
