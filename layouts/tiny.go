package layouts

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// TinyOptions shapes GenerateTable's tables. The zero value gives 3-12 rows
// and 2-6 columns, one header level, a few blank cells, and now and then a
// long (entity x category) layout, a two-level header or a messy layout
// (blank separator rows, a totals row, merged-looking blank repeats).
type TinyOptions struct {
	MinRows, MaxRows int     // body rows; default 3..12
	MinCols, MaxCols int     // columns; default 2..6
	BlankProb        float64 // chance a numeric or text cell is blank; default 0.05, negative for none
	MultiLevelProb   float64 // chance of a two-level header; default 0.15, negative for never
	LongProb         float64 // chance of a long entity x category table; default 0.15, negative for never
	MessyProb        float64 // chance of separator rows, a totals row or blank repeats; default 0.2, negative for never
}

func (o TinyOptions) withDefaults() TinyOptions {
	if o.MinRows <= 0 {
		o.MinRows = 3
	}
	if o.MaxRows < o.MinRows {
		o.MaxRows = max(o.MinRows, 12)
	}
	if o.MinCols <= 0 {
		o.MinCols = 2
	}
	if o.MaxCols < o.MinCols {
		o.MaxCols = max(o.MinCols, 6)
	}
	def := func(p *float64, d float64) {
		if *p == 0 {
			*p = d
		}
	}
	def(&o.BlankProb, 0.05)
	def(&o.MultiLevelProb, 0.15)
	def(&o.LongProb, 0.15)
	def(&o.MessyProb, 0.2)
	return o
}

// Column kinds GenerateTable draws from. The first column is always a
// name or a category (a natural row label).
const (
	kindName     = iota // person names, unique
	kindCategory        // a few repeated values (teams, cities, regions)
	kindInt             // integers, sometimes with thousands separators
	kindDecimal         // decimals with 1-2 places
	kindPercent         // "12.5%": text to pandas
	kindDate            // "2021-03-04": text to pandas
	kindYear            // 1990..2024
	kindScore           // "3-1": text, splits on "-"
	numKinds
)

var (
	firstNames = []string{"Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Goran", "Hana", "Ivan", "Jun", "Kofi", "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Yara", "Zoe"}
	lastNames  = []string{"Silva", "Okafor", "Kim", "Novak", "Haddad", "Larsen", "Moreau", "Tanaka", "Costa", "Ivanova", "Mendes", "Brown"}
	categories = [][]string{
		{"North", "South", "East", "West"},
		{"Lions", "Tigers", "Bears", "Wolves", "Eagles"},
		{"Paris", "Lagos", "Lima", "Oslo", "Pune", "Osaka"},
		{"Gold", "Silver", "Bronze"},
		{"Q1", "Q2", "Q3", "Q4"},
	}
	kindHeaders = [numKinds][]string{
		kindName:     {"Name", "Player", "Athlete", "Candidate", "Driver"},
		kindCategory: {"Team", "Region", "City", "Group", "Medal", "Quarter"},
		kindInt:      {"Points", "Votes", "Population", "Goals", "Wins", "Count"},
		kindDecimal:  {"Rating", "Time (s)", "Height", "Price", "Average"},
		kindPercent:  {"Share", "Rate", "Growth", "Turnout"},
		kindDate:     {"Date", "Start date", "Released"},
		kindYear:     {"Year", "Season", "Founded"},
		kindScore:    {"Score", "Result", "Record"},
	}
	groupHeaders = []string{"2019", "2020", "Men", "Women", "Home", "Away", "Total"}
)

// GenerateTable returns a small random table drawn with rng: a label
// column (names or categories) and columns of integers, decimals,
// percentages, dates, years and scores under plausible headers. The same
// rng state gives the same table. It is meant for smoke training, LTI
// sources and tests, not for realism.
func GenerateTable(rng *rand.Rand, opt TinyOptions) *Table {
	o := opt.withDefaults()
	nrows := o.MinRows + rng.IntN(o.MaxRows-o.MinRows+1)
	ncols := o.MinCols + rng.IntN(o.MaxCols-o.MinCols+1)
	t := &Table{}
	if rng.Float64() < o.LongProb && ncols >= 3 {
		generateLong(rng, t, nrows, ncols)
	} else {
		kinds := make([]int, ncols)
		kinds[0] = kindName
		if rng.IntN(3) == 0 {
			kinds[0] = kindCategory
		}
		for c := 1; c < ncols; c++ {
			kinds[c] = 1 + rng.IntN(numKinds-1)
		}
		cat := categories[rng.IntN(len(categories))]
		t.Header = [][]string{headersFor(rng, kinds)}
		for r := 0; r < nrows; r++ {
			row := make([]string, ncols)
			for c, k := range kinds {
				row[c] = cell(rng, k, r, cat, o.BlankProb)
			}
			t.Rows = append(t.Rows, row)
		}
	}
	if rng.Float64() < o.MultiLevelProb && t.NumCols() >= 3 {
		top := make([]string, t.NumCols())
		g1, g2 := groupHeaders[rng.IntN(len(groupHeaders))], groupHeaders[rng.IntN(len(groupHeaders))]
		split := 1 + rng.IntN(t.NumCols()-1)
		for c := 1; c < t.NumCols(); c++ {
			if c < split+1 {
				top[c] = g1
			} else {
				top[c] = g2
			}
		}
		t.Header = [][]string{top, t.Header[0]}
	}
	if rng.Float64() < o.MessyProb {
		messUp(rng, t)
	}
	t.Title = fmt.Sprintf("%s by %s", t.ColumnName(t.NumCols()-1, " "), t.ColumnName(0, " "))
	return t
}

func headersFor(rng *rand.Rand, kinds []int) []string {
	h := make([]string, len(kinds))
	for c, k := range kinds {
		opts := kindHeaders[k]
		name := opts[rng.IntN(len(opts))]
		for containsStr(h[:c], name) {
			name += " " + strconv.Itoa(c)
		}
		h[c] = name
	}
	if rng.IntN(12) == 0 && len(h) > 1 {
		h[len(h)-1] = strconv.Itoa(1990 + rng.IntN(35)) // a header that looks like a number
	}
	return h
}

func cell(rng *rand.Rand, kind, r int, cat []string, blank float64) string {
	if kind != kindName && kind != kindCategory && rng.Float64() < blank {
		return ""
	}
	switch kind {
	case kindName:
		// Row-indexed first names keep names unique.
		return firstNames[r%len(firstNames)] + " " + lastNames[rng.IntN(len(lastNames))]
	case kindCategory:
		return cat[rng.IntN(len(cat))]
	case kindInt:
		v := rng.IntN(5000) - 500
		if v > 999 && rng.IntN(2) == 0 {
			return strconv.Itoa(v/1000) + "," + fmt.Sprintf("%03d", v%1000)
		}
		return strconv.Itoa(v)
	case kindDecimal:
		return strconv.FormatFloat(float64(rng.IntN(100000))/float64([]int{10, 100}[rng.IntN(2)]), 'f', -1, 64)
	case kindPercent:
		return fmt.Sprintf("%.1f%%", float64(rng.IntN(1000))/10)
	case kindDate:
		return fmt.Sprintf("%d-%02d-%02d", 2000+rng.IntN(25), 1+rng.IntN(12), 1+rng.IntN(28))
	case kindYear:
		return strconv.Itoa(1990 + rng.IntN(35))
	}
	return fmt.Sprintf("%d-%d", rng.IntN(6), rng.IntN(6))
}

// generateLong fills t with every (entity, category) pair and numeric
// measures: the shape pivot turns wide.
func generateLong(rng *rand.Rand, t *Table, nrows, ncols int) {
	cat := categories[rng.IntN(len(categories))]
	ncat := min(len(cat), 2+rng.IntN(3))
	nent := max(2, nrows/ncat)
	t.Header = [][]string{{kindHeaders[kindName][rng.IntN(5)], kindHeaders[kindCategory][rng.IntN(6)]}}
	kinds := []int{}
	for c := 2; c < ncols; c++ {
		k := []int{kindInt, kindDecimal, kindYear}[rng.IntN(3)]
		kinds = append(kinds, k)
		name := kindHeaders[k][rng.IntN(len(kindHeaders[k]))]
		for containsStr(t.Header[0], name) {
			name += " " + strconv.Itoa(c)
		}
		t.Header[0] = append(t.Header[0], name)
	}
	for e := 0; e < nent; e++ {
		ent := firstNames[e%len(firstNames)]
		for _, ci := range rng.Perm(len(cat))[:ncat] {
			row := []string{ent, cat[ci]}
			for _, k := range kinds {
				row = append(row, cell(rng, k, e, cat, 0))
			}
			t.Rows = append(t.Rows, row)
		}
	}
}

// messUp adds one real-world layout wart: blank separator rows, a totals
// row, or blanked repeats in a sorted category column.
func messUp(rng *rand.Rand, t *Table) {
	w := t.NumCols()
	switch rng.IntN(3) {
	case 0:
		if len(t.Rows) >= 3 {
			at := 1 + rng.IntN(len(t.Rows)-1)
			rows := append([][]string(nil), t.Rows[:at]...)
			rows = append(rows, make([]string, w))
			t.Rows = append(rows, t.Rows[at:]...)
		}
	case 1:
		row := make([]string, w)
		row[0] = []string{"Total", "TOTAL", "Sum", "Overall"}[rng.IntN(4)]
		for c := 1; c < w; c++ {
			var s float64
			num := true
			for _, r := range t.Rows {
				v, ok := ParseNumber(r[c])
				if !ok && strings.TrimSpace(r[c]) != "" {
					num = false
					break
				}
				s += v
			}
			if num {
				row[c] = strconv.FormatFloat(s, 'f', -1, 64)
			}
		}
		t.Rows = append(t.Rows, row)
	default:
		for r := len(t.Rows) - 1; r > 0; r-- {
			if t.Rows[r][0] == t.Rows[r-1][0] {
				t.Rows[r][0] = ""
			}
		}
	}
}
