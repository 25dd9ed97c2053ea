// Package rollout is how tabler1 gets completions from served models (vLLM,
// SGLang, llama.cpp's server, Ollama, any OpenAI-compatible server, and the
// embedded model's own server), through github.com/sashabaranov/go-openai. It
// owns the endpoint pool, the prompt templates, the parsing of completions
// (program, text answer, paradigm, format validity), group sampling under a
// paradigm policy, and teacher distillation. It computes no rewards.
//
// # Pool
//
// A [Pool] sends each request to the up endpoint with the fewest requests
// in flight per unit of weight, within a global and a per-endpoint bound.
// Every attempt has a deadline (request_timeout); 429, 5xx, connection
// errors, timeouts, cut or malformed bodies and a wrong number of choices
// are retried max_retries times with exponential backoff and jitter,
// preferring another endpoint. failure_threshold consecutive failures mark
// an endpoint down; a prober brings it back when GET /v1/models answers. The
// run-level rule: when no request has been answered for stall_timeout while
// requests wait, every request fails with a [*StalledError] naming each
// endpoint and its last error, and [Pool.Err] keeps it; the run stops
// rather than hang. The clock runs only while the pool is busy. The API key
// is read from the environment variable api_key_env names and never logged.
//
// # Token data
//
// Training needs the prompt's token ids, the completion's token ids and the
// sampler's logprob of each completion token. A request with TokenData asks
// for them in the way the endpoint's server kind documents, and a missing
// piece is a [*MissingTokenDataError] naming the endpoint, the server kind and
// the option to turn on:
//
//	server    request fields sent                                  read back
//	vllm      logprobs (1 / true), return_tokens_as_token_ids,     choices[].token_ids and prompt_token_ids
//	embedded    return_token_ids                                     (vLLM >= 0.10.2; chat: prompt_token_ids on
//	                                                                 the response), else logprobs.tokens as
//	                                                                 "token_id:N" and POST /tokenize for the prompt
//	sglang    logprobs, return_token_ids                           choices[].token_ids and prompt_token_ids,
//	                                                                 logprobs.token_logprobs; /tokenize fallback
//	llamacpp, ollama, openai: logprobs only; no token ids through the OpenAI API, so TokenData fails (use
//	          them for evaluation, not for training)
//
// go-openai has no fields for return_tokens_as_token_ids or return_token_ids,
// drops token_ids and prompt_token_ids from responses, and cannot send a
// temperature of 0 (the field is omitempty). Rather than fork it, the pool's
// go-openai clients send through an http.RoundTripper hook: a request whose
// context carries the hook gets extra JSON members spliced into its body
// (token-data fields, "temperature":0, [CompletionRequest].Extra), and its 2xx
// body is kept for rollout to decode; go-openai is handed an empty object so
// the body is not decoded twice. go-openai still builds every request, sets
// the headers and turns error answers into *openai.APIError.
//
// # Prompts and parsing
//
// [Templates] are Go text/templates embedded from templates/*.tmpl, one per
// [Kind]: program, text, mixed, the TabFact variants and LTI; a
// [TemplateConfig] replaces any of them from files and adds few-shot examples.
// A prompt shows only a preview of the table (the first preview_rows rows,
// default 10) with its full shape and df.columns; the program gets the full
// table as the pandas DataFrame df and prints its answer, whose last
// non-empty line is the answer. [Parse] reads a completion: the program
// (a ```python or unnamed fenced block, an unclosed last block tolerated,
// the last of several by default), the text answer (the last "Answer:" line,
// else \boxed{}, else a JSON list), the paradigm, format validity and
// truncation.
//
// # Groups and distillation
//
// A [Sampler] draws G samples per question under a [Policy]: free (the mixed
// prompt), split (k program and G-k text prompts) or program_first (program
// prompts, then text samples where the caller's [AllFailed] says all programs
// failed). Each [Sample] has a UUID and records how it was drawn. Failed
// requests are counted in the [Group], never silently dropped. [Distill] is
// the paper's cold start: a teacher's program answers, run through a
// [Runner] and graded by a [Grader], kept up to a cap per dataset and written
// as SFT JSONL.
//
// Package openaitest is the fake OpenAI-compatible server the tests and
// [Bench] use.
package rollout
