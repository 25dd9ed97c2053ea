// Package trainer is the controller of a tabler1 run: it reads and validates
// the run configuration, walks the stages (lti_sft, sft, grpo, lti_grpo),
// draws training questions in a reproducible order, drives the step pipeline
// (rollout → sandbox → scoring → backend), synchronously or, per GRPO stage,
// asynchronously with a staleness bound (async.go), checkpoints and resumes
// exactly, and writes the run directory's metrics, rollout logs and
// structured log.
//
// The model math lives behind the Backend interface: the remote backend
// speaks the JSON-over-HTTP protocol of docs/backend-protocol.md to a GPU
// trainer. The trainer never holds model weights itself.
package trainer
