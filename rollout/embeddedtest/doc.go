// Package embeddedtest holds the integration test of rollout against the
// embedded model's OpenAI-compatible server (model/server): the round trip
// of prompt and completion token ids and of the sampler's logprobs. It is a
// package of its own so that rollout's tests do not build the model.
package embeddedtest
