// Package eval owns benchmark evaluation: loaders for the native formats of
// the table-reasoning benchmarks (WikiTQ, TabFact, HiTab, AIT-QA, FeTaQA,
// TableBench, TAT-QA) and for the project's uniform JSONL, scorers that agree
// with the official ones case by case, the eval runner that queries a model
// (text, program or mixed paradigm) and scores its answers, reports
// (JSON, markdown, HTML), and the hook the trainer calls to evaluate every N
// steps. It does not train.
//
// # Scorers
//
// Each benchmark's metric follows its official scorer, quirks included
// (../shared/docs/benchmarks.md has the rules; the parity tests check them on
// ../shared/data/fixtures):
//
//   - wtq: denotation accuracy of evaluator.py, through package answer's
//     port of its normaliser, value typing and set match. As in evaluator.py
//     the denominator of [ScorePredictions] is the number of predictions
//     scored (unknown ids are skipped and counted in Metrics["unknown"]; a
//     duplicate id is an error).
//   - tabfact: binary accuracy; a prediction is mapped to a label by
//     [TabFactLabel], anything else is wrong.
//   - hitab: the mean of hmt_score (an empty list prediction is wrong, where
//     the official code raises IndexError).
//   - aitqa: the repository ships no scorer. tabler1's rule (not official):
//     the WTQ denotation rules on the single gold string, where both the gold
//     string and each predicted item get a canonical number when, after
//     dropping "$" signs and "," separators and trimming, what is left parses
//     as a number; so "$1,234" and "1234" match, "83.6%" and "83.6" do not.
//   - tablebench: EM as the repository's custom_em_metric computes it (after
//     SQuAD normalisation, which deletes every ASCII punctuation character),
//     EM_with_error_10 for CorrelationAnalysis, TrendForecasting and
//     StatisticalAnalysis, and ROUGE-L for the other DataAnalysis subtypes.
//     ROUGE-L is the mean of per-example F-measures (rouge_score's
//     tokenizer, no stemming), not HF evaluate's bootstrap median, so it is an
//     approximation. accuracy is the count-weighted Mix_Metric over
//     FactChecking, NumericalReasoning and DataAnalysis (Visualization is not
//     scored: its answers are test code).
//   - tatqa: tatqa_eval's EM, F1 and scale score; accuracy is EM. A falsy
//     prediction (null, "", [], 0) scores 0, as in the official code. F1 is
//     the token-set overlap even where the prediction lacks the gold's
//     numbers: TAT-QA's metric drops DROP's number-match rule.
//   - fetaqa: corpus sacreBLEU (13a tokeniser, exp smoothing, case-sensitive,
//     0-100 scale), which follows sacrebleu's algorithm exactly but has not been
//     run against sacrebleu itself here, and ROUGE-L as the mean of per-example
//     F-measures (an approximation of HF's bootstrap "mid"). accuracy is that
//     ROUGE-L mean, so that FeTaQA has a per-example score like the others.
//     METEOR, BERTScore and BLEURT are not computed.
//
// # The benchmark table
//
// Every benchmark is one [Benchmark] row: its name, whether it is one of
// the paper's four, its prompt task, default test and train splits, its
// evaluation splits (training on them is refused), its native loader, its
// one-file train/test cut (AIT-QA), its [Scorer], its prediction shape and
// its official prediction format. Loading, scoring, prompts, the trainer's
// data sources and the command line's benchmark names all read the table
// ([Benchmarks], [PaperBenchmarks], [ParseBenchmarks],
// [DefaultSplit], [TrainSplit], [IsEvalSplit], [PromptQuestion],
// [PredictionFor]). A new benchmark is one file with its row, loader and
// scorer, plus its entry in the builtin list; one defined outside the
// package is added with [Register] (cmd/tabler1/toybench_test.go does).
//
// # Data
//
// [LoadJSONL] reads the uniform JSONL (../shared/data/README.md), tables
// through layouts.UniformTable; [LoadNative] reads each benchmark's own
// files as its repository lays them out, and yields the same examples for
// the same ids; [LoadData] picks one or the other from a path.
//
// # Running a model
//
// A [Runner] sends each example's prompt (package rollout's templates, table
// preview of the first rows) to a [Completer] (a rollout.Pool: any
// OpenAI-compatible server, or the embedded model served in-process), in
// program, text or mixed mode, K samples per example (greedy by default;
// pass@k, avg@k and the unbiased pass@1, 2, 4... estimates of Chen et al.
// with sampling), a bounded number of examples in flight.
// Programs run on the full table through a program.Executor and their
// answer is the last line they print ([AnswerItems] splits list answers).
// Completed samples go to a [Cache] (samples.jsonl in the output directory)
// so that a rerun skips them. The [Report] gives the official metrics per
// benchmark, the accuracy per paradigm and the execution failures with
// examples, as report.json, report.md and a self-contained report.html with
// inline SVG charts; [WritePredictionFiles] writes the answers in the
// official scorers' formats as well. [Hook] runs a fixed seeded subset every
// N training steps.
package eval
