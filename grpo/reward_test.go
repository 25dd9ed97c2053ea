package grpo

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"

	"tabler1/answer"
	"tabler1/episode"
	"tabler1/layouts"
	"tabler1/sandbox/execution"
)

// awards is a 12-row table; the prompt previews 10 rows.
func awards() *layouts.Table {
	winners := []string{"Che Fu", "Nesian Mystik", "Scribe", "P-Money", "Frontline", "PNC", "Scribe", "Ladi6",
		"David Dallas", "Ladi6", "Home Brew", "Aaradhna"}
	t := &layouts.Table{Header: [][]string{{"Year", "Winner"}}}
	for i, w := range winners {
		t.Rows = append(t.Rows, []string{strconv.Itoa(2002 + i), w})
	}
	return t
}

func ok(stdout string) *execution.Result {
	return &execution.Result{Status: execution.StatusOK, Stdout: stdout}
}

func program(code string, exec *execution.Result) RewardInput {
	return RewardInput{Episode: episode.Episode{Parse: episode.Parse{Paradigm: episode.ParadigmProgram, FormatOK: true, Code: code}, Exec: exec,
		Gold: []string{"Che Fu"}}, Question: "who won in 2002?", Table: awards(), PreviewRows: 10}
}

func text(ans, question string) RewardInput {
	return RewardInput{Episode: episode.Episode{Parse: episode.Parse{Paradigm: episode.ParadigmText, FormatOK: true, Answer: ans},
		Gold: []string{"Che Fu"}}, Question: question, Table: awards(), PreviewRows: 10}
}

const goodCode = "row = df[df['Year'] == 2002]\nprint(row['Winner'].iloc[0])"

func TestComputeReward(t *testing.T) {
	def := DefaultRewardConfig()
	for _, c := range []struct {
		name    string
		in      RewardInput
		total   float64
		correct bool
		nothing string
		needs   string
	}{
		// format + compile + execution + answer = 0.1+0.1+0.1+1.
		{"right program", program(goodCode, ok("Che Fu\n")), 1.3, true, "", ""},
		{"wrong program", program(goodCode, ok("Scribe\n")), 0.3, false, "", ""},
		{"no format", func() RewardInput { in := program(goodCode, ok("Che Fu")); in.FormatOK = false; return in }(), 1.2, true, "", ""},
		{"syntax error", program(goodCode, &execution.Result{Status: execution.StatusSyntaxError}), 0.1, false, "", ""},
		// A broken program is not judged for computing nothing.
		{"syntax error, no df", program(`print("Che Fu"`, &execution.Result{Status: execution.StatusSyntaxError}), 0.1, false, "", ""},
		{"runtime error", program(goodCode, &execution.Result{Status: execution.StatusRuntimeError, Stdout: "Che Fu"}), 0.2, false, "", ""},
		{"timeout", program(goodCode, &execution.Result{Status: execution.StatusTimeout}), 0.2, false, "", ""},
		{"not run", program(goodCode, nil), 0.1, false, "", ""},
		// Hard-coded: 0.3 - 1 (penalty), answer withheld.
		{"prints literal", program(`print("Che Fu")`, ok("Che Fu")), -0.7, false, "no_table_reference", ""},
		{"literal via variable", program("ans = 'Che Fu'\nprint(ans)", ok("Che Fu")), -0.7, false, "no_table_reference", ""},
		{"df unused in print", program("x = df['Year'].max()\nprint('Che Fu')", ok("Che Fu")), -0.7, false, "prints_constant", ""},
		{"df only in comment", program("# df\nprint('Che Fu')  # df['Winner']", ok("Che Fu")), -0.7, false, "no_table_reference", ""},
		{"df only in string", program("print('df Che Fu')", ok("df Che Fu")), -1 + 0.3, false, "no_table_reference", ""},
		{"attribute named df", program("import x\nprint(x.df)", ok("Che Fu")), -0.7, false, "no_table_reference", ""},
		{"f-string field", program("print(f\"{df['Winner'].iloc[0]}\")", ok("Che Fu")), 1.3, true, "", ""},
		{"yes/no branches", program("if df['Year'].max() > 2000:\n    print('yes')\nelse:\n    print('no')", ok("yes")), 0.3, false, "", ""},
		// print(df) is 9 characters: short-code penalty 0.5.
		{"short program", program("print(df)", ok("Che Fu")), 0.8, true, "", ""},
		{"text right, plain question", text("Che Fu", "which winner released navigator?"), 1.3, true, "", ""},
		{"text right, extremum question", text("Che Fu", "who was the FIRST person to receive the award?"), 0.8, true, "", "question_word:first"},
		{"text wrong, count question", text("3", "how many winners are there?"), -0.2, false, "", "question_word:how many"},
		{"invalid", RewardInput{Episode: episode.Episode{Parse: episode.Parse{Paradigm: episode.ParadigmInvalid, FormatOK: true}, Gold: []string{"x"}}}, 0, false, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ComputeReward(def, c.in)
			if math.Abs(r.Total-c.total) > 1e-12 || r.Correct != c.correct || r.ComputesNothing != c.nothing || r.NeedsTable != c.needs {
				t.Errorf("got total %v correct %v nothing %q needs %q (%+v); want %v %v %q %q",
					r.Total, r.Correct, r.ComputesNothing, r.NeedsTable, r.Components, c.total, c.correct, c.nothing, c.needs)
			}
			if math.Abs(r.Components.Sum()-r.Total) > 1e-15 {
				t.Errorf("components %+v do not sum to %v", r.Components, r.Total)
			}
			if b, _ := json.Marshal(r); strings.Contains(string(b), ":-0,") || strings.Contains(string(b), ":-0}") {
				t.Errorf("negative zero in the log record %s", b)
			}
		})
	}
}

func TestNeedsTableEvidence(t *testing.T) {
	cfg := DefaultRewardConfig().NeedsTable
	in := text("Home Brew", "who won with a self-titled album?")
	in.Gold = []string{"Home Brew"} // row 10, beyond the 10-row preview
	if got := needsFullTable(cfg, in); got != "answer_beyond_preview" {
		t.Errorf("gold beyond preview: %q", got)
	}
	in.Gold = []string{"Scribe"} // rows 2 and 6: visible in the preview
	if got := needsFullTable(cfg, in); got != "" {
		t.Errorf("gold in preview: %q", got)
	}
	in.EvidenceRows = []int{3, 11}
	if got := needsFullTable(cfg, in); got != "evidence_beyond_preview" {
		t.Errorf("evidence beyond preview: %q", got)
	}
	in.PreviewRows = 12 // whole table shown
	if got := needsFullTable(cfg, in); got != "" {
		t.Errorf("untruncated table: %q", got)
	}
	in.PreviewRows = 0
	if got := needsFullTable(cfg, in); got != "" {
		t.Errorf("no preview size: %q", got)
	}
	// Words match whole words only: "mostly" is not "most".
	if w := questionWord("Were they mostly bands?", cfg.Words); w != "" {
		t.Errorf("questionWord matched %q inside a word", w)
	}
	if w := questionWord("What is the total, in points?", cfg.Words); w != "total" {
		t.Errorf("questionWord = %q, want total", w)
	}
}

func TestComputesNothingPerturbed(t *testing.T) {
	def := DefaultRewardConfig()
	code := "print(df['Winner'].iloc[0])"
	for _, c := range []struct {
		name      string
		out, pert string
		want      string
	}{
		{"unchanged", "Che Fu", "Che Fu", "unchanged_on_perturbed_table"},
		{"unchanged after normalising", "Che Fu", "che fu.", "unchanged_on_perturbed_table"},
		{"changed", "Che Fu", "Qwx Zz", ""},
		{"row count", "12", "12", ""},
		{"column count", "2", "2", ""},
		{"yes/no", "Yes", "yes", ""},
		{"header name", "Winner", "Winner", ""},
		{"empty", "", "", ""},
	} {
		in := program(code, ok(c.out))
		in.Perturbed = ok(c.pert)
		if got := ComputeReward(def, in).ComputesNothing; got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	in := program(code, ok("Che Fu"))
	in.Perturbed = &execution.Result{Status: execution.StatusRuntimeError}
	if got := ComputeReward(def, in).ComputesNothing; got != "" {
		t.Errorf("failed perturbed run flagged: %q", got)
	}
	cfg := def
	cfg.ComputesNothing.Perturb = false
	in.Perturbed = ok("Che Fu")
	if got := ComputeReward(cfg, in).ComputesNothing; got != "" {
		t.Errorf("perturb off flagged: %q", got)
	}
	cfg.ComputesNothing.Syntax = false
	if got := ComputeReward(cfg, program(`print("Che Fu")`, ok("Che Fu"))); got.ComputesNothing != "" || !got.Correct {
		t.Errorf("detection off: %+v", got)
	}
}

func TestOverlongAndMasking(t *testing.T) {
	cfg := DefaultRewardConfig()
	cfg.OverlongBuffer = OverlongBufferConfig{Enable: true, Len: 100, PenaltyFactor: 1}
	cfg.MaskTruncatedCompletions = true
	for _, c := range []struct {
		tokens int
		want   float64
	}{
		{800, 0}, {900, 0}, {950, -0.5}, {1000, -1}, {1200, -1}, // (L - (1000-100)) / 100, L capped at 1000
	} {
		in := text("Che Fu", "who won in 2002?")
		in.TokenIDs, in.MaxCompletionTokens = make([]int, c.tokens), 1000
		if got := ComputeReward(cfg, in).Components.Overlong; math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%d tokens: overlong %v, want %v", c.tokens, got, c.want)
		}
	}
	in := text("Che Fu", "who won in 2002?")
	in.FinishReason = "length"
	if !ComputeReward(cfg, in).Masked {
		t.Error("truncated completion not masked")
	}
	cfg.MaskTruncatedCompletions = false
	if ComputeReward(cfg, in).Masked {
		t.Error("masked with mask_truncated_completions off")
	}
}

func TestSandboxError(t *testing.T) {
	r := ComputeReward(DefaultRewardConfig(), program(goodCode, &execution.Result{Status: execution.StatusSandboxError}))
	if !r.SandboxError || r.Components.Compile != 0 || r.Correct {
		t.Errorf("sandbox error: %+v", r)
	}
}

func TestSimilarityConfigured(t *testing.T) {
	cfg := DefaultRewardConfig()
	cfg.Similarity = answer.Scorer{Metric: answer.MetricNumeric}
	in := program("print(round(df['Year'].mean(), 2))", ok("2007.5"))
	in.Gold = []string{"2007.5001"}
	if r := ComputeReward(cfg, in); !r.Correct || r.AnswerScore != 1 {
		t.Errorf("numeric within tolerance: %+v", r)
	}
	cfg.Similarity = answer.Scorer{Metric: answer.MetricF1}
	in = text("New York City", "where?")
	in.Gold = []string{"New York"}
	// F1 = 0.8: answer component 0.8, not correct at threshold 1.
	if r := ComputeReward(cfg, in); math.Abs(r.Components.Answer-0.8) > 1e-12 || r.Correct {
		t.Errorf("f1: %+v", r)
	}
	cfg.CorrectThreshold = 0.75
	if r := ComputeReward(cfg, in); !r.Correct {
		t.Errorf("f1 above threshold not correct: %+v", r)
	}
	// WikiTQ canon: "17 years" with canon 17.0 accepts "17".
	cfg = DefaultRewardConfig()
	in = text("17", "how old?")
	in.Gold, in.GoldCanon = []string{"17 years"}, []string{"17.0"}
	if r := ComputeReward(cfg, in); !r.Correct {
		t.Errorf("canon: %+v", r)
	}
}

func TestLTIReward(t *testing.T) {
	target := &layouts.Table{Header: [][]string{{"a", "b"}}, Rows: [][]string{{"1", "x"}, {"2", "y"}}}
	same := &layouts.Table{Header: [][]string{{"a", "b"}}, Rows: [][]string{{"1.0", "x"}, {" 2", "y"}}}
	shape := &layouts.Table{Header: [][]string{{"c", "d"}}, Rows: [][]string{{"9", "x"}, {"2", "y"}}}
	header := &layouts.Table{Header: [][]string{{"a", "b"}}, Rows: [][]string{{"1", "x"}}}
	partial := LTIConfig{Partial: true, ShapeCredit: 0.2, HeaderCredit: 0.3}
	for _, c := range []struct {
		name string
		cfg  LTIConfig
		got  *layouts.Table
		want float64
	}{
		{"equal canonically", LTIConfig{}, same, 1},
		{"shape only, no partial", LTIConfig{}, shape, 0},
		{"shape only", partial, shape, 0.2},
		{"header only", partial, header, 0.3},
		{"missing table", partial, nil, 0},
	} {
		if s := LTIScore(c.cfg, c.got, target); math.Abs(s-c.want) > 1e-12 {
			t.Errorf("%s: %v, want %v", c.name, s, c.want)
		}
	}
	cfg := DefaultRewardConfig()
	in := RewardInput{Episode: episode.Episode{Task: episode.TaskLTI, Parse: episode.Parse{Paradigm: episode.ParadigmProgram, FormatOK: true,
		Code: "df = df.sort_values('a')"}, Exec: &execution.Result{Status: execution.StatusOK, Table: same}}, Target: target}
	// The LTI program prints nothing and is not judged computes-nothing.
	if r := ComputeReward(cfg, in); math.Abs(r.Total-1.3) > 1e-12 || !r.Correct || r.ComputesNothing != "" {
		t.Errorf("LTI program: %+v", r)
	}
	in = RewardInput{Episode: episode.Episode{Task: episode.TaskLTI, Parse: episode.Parse{Paradigm: episode.ParadigmText, FormatOK: true, Answer: "a table"}}, Target: target}
	if r := ComputeReward(cfg, in); r.Components.Answer != 0 || r.Correct {
		t.Errorf("LTI text: %+v", r)
	}
}

func TestRewardConfigValidate(t *testing.T) {
	if err := DefaultRewardConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*RewardConfig){
		"negative weight":    func(c *RewardConfig) { c.Weights.Answer = -1 },
		"NaN penalty":        func(c *RewardConfig) { c.ShortCode.Penalty = math.NaN() },
		"bad metric":         func(c *RewardConfig) { c.Similarity.Metric = "bleu" },
		"threshold 0":        func(c *RewardConfig) { c.CorrectThreshold = 0 },
		"overlong len 0":     func(c *RewardConfig) { c.OverlongBuffer = OverlongBufferConfig{Enable: true} },
		"lti partial >= 1":   func(c *RewardConfig) { c.LTI = LTIConfig{Partial: true, ShapeCredit: 0.5, HeaderCredit: 0.5} },
		"no table names":     func(c *RewardConfig) { c.ComputesNothing.TableNames = nil },
		"negative min len":   func(c *RewardConfig) { c.ShortCode.MinLen = -1 },
		"negative tolerance": func(c *RewardConfig) { c.Similarity.RelTol = -1 },
	} {
		c := DefaultRewardConfig()
		mut(&c)
		if c.Validate() == nil {
			t.Errorf("%s accepted", name)
		}
	}
}
