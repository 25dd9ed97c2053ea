package eval

import (
	"encoding/binary"
	"hash/fnv"
)

// AIT-QA ships as one file with no train/test split. Table-r1 trains on a
// random 80% of its questions and evaluates on the other 20%; the split is
// not published, so tabler1 fixes one: AITQASplit with AITQASplitSeed and
// AITQATrainFraction, used both by training (the train part) and by
// evaluation (split "test").
const (
	AITQASplitSeed     = 0
	AITQATrainFraction = 0.8
)

// AITQASplit divides AIT-QA questions into a train and a test part by a
// seeded hash of their paraphrase group (a question without a group is its
// own group), so paraphrases never straddle the split and the result does
// not depend on the order or the subset of the input: a question lands on
// the same side whatever else is loaded with it. Groups are ranked by
// hash; a group whose hash falls in the lowest trainFrac of the hash range
// is in the train part (so about trainFrac of the groups). Both parts keep the input order.
func AITQASplit(exs []Example, seed uint64, trainFrac float64) (train, test []Example) {
	key := func(e *Example) string {
		if g := e.MetaString("paraphrase_group"); g != "" {
			return "group:" + g
		}
		return "id:" + e.ID
	}
	rank := func(k string) uint64 {
		h := fnv.New64a()
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], seed)
		h.Write(b[:])
		h.Write([]byte(k))
		// FNV's high bits barely move between similar keys ("id:q-10",
		// "id:q-11"); splitmix64's finaliser spreads them.
		z := h.Sum64()
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		return z ^ (z >> 31)
	}
	// A group is in train when its hash falls in the lowest trainFrac of
	// the 64-bit range: a per-group decision, so subsets agree.
	limit := uint64(trainFrac * float64(^uint64(0)))
	if trainFrac >= 1 {
		limit = ^uint64(0)
	}
	for i := range exs {
		if rank(key(&exs[i])) <= limit && trainFrac > 0 {
			train = append(train, exs[i])
		} else {
			test = append(test, exs[i])
		}
	}
	return train, test
}

// applyAITQASplit keeps the part of AIT-QA questions named by split
// ("train" or "test", the seeded AITQASplit); other splits pass through.
func applyAITQASplit(exs []Example, split string) []Example {
	if split != "train" && split != "test" {
		return exs
	}
	train, test := AITQASplit(exs, AITQASplitSeed, AITQATrainFraction)
	if split == "train" {
		return train
	}
	return test
}
