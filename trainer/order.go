package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
)

// Order is the data order of one stage: which item the k-th draw of the
// stage takes. It is a pure function of (seed, epoch, index), so a resumed
// run that restores the stage's cursor draws exactly the items an
// uninterrupted run would have, none replayed and none skipped.
//
// An epoch has one slot per item over all sources; source s gets a share of
// the slots proportional to its weight (at least one slot when its weight
// is positive). A source's slots walk through a seeded permutation of its
// items that is redrawn each time the source is exhausted, and the slots of
// an epoch are shuffled with a permutation seeded by (seed, epoch).
type Order struct {
	seed    uint64
	sources [][]Item
	slots   []int // source of each slot before shuffling
	counts  []int // slots per epoch of each source

	mu    sync.Mutex
	cache map[uint64][]int // epoch → shuffled slot sources (a memo of a pure function)
	perms map[[2]uint64][]int
}

// NewOrder builds the order over sources with the given weights.
func NewOrder(seed uint64, sources [][]Item, weights []float64) (*Order, error) {
	if len(sources) != len(weights) {
		return nil, fmt.Errorf("data order: %d sources but %d weights", len(sources), len(weights))
	}
	total, wsum := 0, 0.0
	for i, s := range sources {
		if weights[i] < 0 || math.IsNaN(weights[i]) {
			return nil, fmt.Errorf("data order: weight %g of source %d is not >= 0", weights[i], i)
		}
		if len(s) > 0 {
			total += len(s)
			wsum += weights[i]
		}
	}
	if total == 0 || wsum == 0 {
		return nil, fmt.Errorf("data order: no items to draw from (every source is empty or has weight 0)")
	}
	o := &Order{seed: seed, sources: sources, counts: make([]int, len(sources)), cache: map[uint64][]int{}, perms: map[[2]uint64][]int{}}
	for i, s := range sources {
		if len(s) == 0 || weights[i] == 0 {
			continue
		}
		c := max(1, int(math.Round(float64(total)*weights[i]/wsum)))
		o.counts[i] = c
		for j := 0; j < c; j++ {
			o.slots = append(o.slots, i)
		}
	}
	return o, nil
}

// EpochLen is the number of draws in one epoch.
func (o *Order) EpochLen() int { return len(o.slots) }

// At returns the item of the k-th draw (k >= 0).
func (o *Order) At(k int) Item {
	src, idx := o.position(k)
	return o.sources[src][idx]
}

// position returns the source and item index of draw k.
func (o *Order) position(k int) (src, idx int) {
	epoch := uint64(k / len(o.slots))
	pos := k % len(o.slots)
	o.mu.Lock()
	defer o.mu.Unlock()
	shuffled, ok := o.cache[epoch]
	if !ok {
		// Each slot remembers its rank among its source's slots.
		shuffled = make([]int, len(o.slots))
		for i := range shuffled {
			shuffled[i] = i
		}
		r := rand.New(rand.NewPCG(o.seed, epoch^0x5eed))
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if len(o.cache) > 4 {
			clear(o.cache)
		}
		o.cache[epoch] = shuffled
	}
	slot := shuffled[pos]
	src = o.slots[slot]
	first := 0
	for i := 0; i < src; i++ {
		first += o.counts[i]
	}
	// The g-th draw ever from source src.
	g := epoch*uint64(o.counts[src]) + uint64(slot-first)
	n := uint64(len(o.sources[src]))
	pass := g / n
	key := [2]uint64{uint64(src), pass}
	perm, ok := o.perms[key]
	if !ok {
		perm = rand.New(rand.NewPCG(o.seed^uint64(src+1)*0x9e3779b97f4a7c15, pass)).Perm(int(n))
		if len(o.perms) > 16 {
			clear(o.perms)
		}
		o.perms[key] = perm
	}
	return src, perm[g%n]
}
