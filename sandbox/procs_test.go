package sandbox

import (
	"time"
)

// leftoverJobProcesses lists processes of p's job users after giving the
// workers a moment to reap.
func leftoverJobProcesses(p *Pool) []int {
	var left []int
	for range 60 {
		if left = p.leftoverProcesses(); len(left) == 0 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return left
}
