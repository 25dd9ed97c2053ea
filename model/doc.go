// Package model owns the embedded tiny causal transformer of tabler1: a
// byte-level decoder-only language model that trains and samples on a CPU
// with nothing downloaded. It is the engine of the embedded training backend
// (smoke training, CI) and of `tabler1 serve`.
//
// What it provides:
//   - Config, DefaultConfig (about 1M parameters) and SmokeConfig (about
//     0.2M, sized for the 5-minute CPU smoke run);
//   - Tokenizer: 256 byte tokens plus special tokens (BOS, EOS, PAD and the
//     chat markers <|im_start|>, <|im_end|>);
//   - Model: forward over a batch of variable-length sequences, Score
//     (log-probabilities of completion tokens) and Generate (temperature,
//     top-p, stop sequences, seed; a KV cache makes decoding linear);
//   - Trainer: the model plus a frozen reference copy, AdamW with gradient
//     clipping and a learning-rate schedule, the SFT cross-entropy on
//     completion tokens and the GRPO loss (clipped ratio to the sampler's
//     log-probabilities, dual clip, truncated importance sampling, KL
//     k1/k2/k3 to the reference) with verl's names and aggregation modes;
//   - checkpoints as safetensors (weights, optimizer state) plus config.json,
//     readable by PyTorch's safetensors (see checkpoint.go for names and
//     layout).
//
// Training has two engines that compute the same function (Trainer.Engine):
//   - EngineGorgonia (graph.go): the transformer as a gorgonia expression
//     graph over a padded batch with causal and padding masks,
//     differentiated by gorgonia's reverse-mode autodiff;
//   - EnginePlain (forward.go), the default: the same transformer in plain
//     Go over float64 slices with gonum's BLAS (the BLAS gorgonia's CPU
//     engine calls), with hand-written backward passes checked against
//     finite differences. It is about twice as fast on a CPU, which the
//     5-minute smoke run needs.
//
// graph_test.go checks that the two engines give the same log-probabilities,
// gradients and optimizer steps to 1e-9; `tabler1 bench model` times both
// against PyTorch. Sampling (a KV cache) is plain Go over the same weights.
// The OpenAI-compatible HTTP server lives in the subpackage model/server.
//
// The package knows nothing about tables: it sees token ids and text.
package model
