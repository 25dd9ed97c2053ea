// Package grpo owns the learning signal of Table-r1's mix-paradigm GRPO,
// as pure functions over plain data (no I/O, no processes, no clocks):
//
//   - rewards (reward.go): each sample's reward as named, weighted
//     components — format, compile, execution, answer correctness (with the
//     similarity of package answer, the normaliser eval uses too), the
//     paper's penalties (a program that computes nothing, a text answer to a
//     question that needs the full table, a too-short program), DAPO's soft
//     overlong penalty and TRL's masking of truncated completions — and the
//     LTI reward (a program's output table against the target);
//   - mixed-paradigm groups (group.go): program and text samples of one
//     question share one baseline; fallback accounting and statistics per
//     paradigm;
//   - advantages (advantage.go): the estimators grpo, dr_grpo, batch_std and
//     rloo, zero-variance group filtering keyed on binary correctness, and
//     the DAPO dynamic-sampling decision;
//   - the loss (loss.go): per-token PPO clip with clip-higher and dual
//     clip, the verl aggregation modes, k1/k2/k3 KL and truncated
//     importance sampling, with its exact gradient, the reference every
//     training backend is tested against.
//
// Option names follow verl (and TRL where verl has none), so a user's
// configuration reads the same here.
package grpo
