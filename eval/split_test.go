package eval

import (
	"path/filepath"
	"testing"
)

func TestAITQASplit(t *testing.T) {
	exs, err := LoadJSONL(filepath.Join(sharedData(t), "aitqa.dev.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	train, test := AITQASplit(exs, AITQASplitSeed, AITQATrainFraction)
	if len(train)+len(test) != len(exs) {
		t.Fatalf("split lost questions: %d + %d != %d", len(train), len(test), len(exs))
	}
	if f := float64(len(train)) / float64(len(exs)); f < 0.7 || f > 0.9 {
		t.Errorf("train fraction %.2f, want about 0.8", f)
	}
	side := map[string]string{}
	for _, part := range []struct {
		name string
		exs  []Example
	}{{"train", train}, {"test", test}} {
		for i := range part.exs {
			e := &part.exs[i]
			g := e.MetaString("paraphrase_group")
			if g == "" {
				continue
			}
			if s, ok := side[g]; ok && s != part.name {
				t.Fatalf("paraphrase group %s is on both sides of the split", g)
			}
			side[g] = part.name
		}
	}
	if len(side) == 0 {
		t.Fatal("no paraphrase groups in the sample: the group rule is untested")
	}
	// A question's side does not depend on what else is loaded with it.
	sub := append([]Example(nil), exs[len(exs)/2:]...)
	subTrain, _ := AITQASplit(sub, AITQASplitSeed, AITQATrainFraction)
	inTrain := map[string]bool{}
	for _, e := range train {
		inTrain[e.ID] = true
	}
	for _, e := range subTrain {
		if !inTrain[e.ID] {
			t.Fatalf("question %s is in train only when split as part of a subset", e.ID)
		}
	}
	// Another seed gives another split.
	other, _ := AITQASplit(exs, 1, AITQATrainFraction)
	same := len(other) == len(train)
	for i := 0; same && i < len(other); i++ {
		same = other[i].ID == train[i].ID
	}
	if same {
		t.Error("seeds 0 and 1 gave the same split")
	}
	// LoadData's split names select the parts.
	for split, want := range map[string]int{"train": len(train), "test": len(test), "all": len(exs)} {
		got, err := LoadData(AITQA, filepath.Join(sharedData(t), "aitqa.dev.jsonl"), split)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != want {
			t.Errorf("LoadData(aitqa, split %q) = %d questions, want %d", split, len(got), want)
		}
	}
}
