package main

import "fmt"

// failedRequests is the rule by which a command whose requests failed
// exits non-zero after writing its output: all of them failed, or a share
// above max. It returns nil when the command may succeed.
func failedRequests(what string, failed, total int, max float64, first string) error {
	if total == 0 || failed == 0 || (failed < total && float64(failed) <= max*float64(total)) {
		return nil
	}
	msg := fmt.Sprintf("%s: %d of %d requests failed (%.0f%%, above --max-failed-requests %g)", what, failed, total, 100*float64(failed)/float64(total), max)
	if first != "" {
		msg += "; first failure: " + first
	}
	return fmt.Errorf("%s", msg)
}
