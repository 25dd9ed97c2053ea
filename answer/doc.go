// Package answer owns answer normalisation and matching: the one definition
// shared by the GRPO rewards (package grpo) and the benchmark scorers
// (package eval), so that a reward and an evaluation never disagree on
// whether an answer is right.
//
// It holds a port of the rules of the official WikiTableQuestions evaluator
// (WTQNormalize, WTQValue, WTQValues, WTQCorrect, DenotationMatch), checked
// case by case against the official scorer's outputs, and the graded
// similarities the rewards use (Metric, Scorer, Score): exact match after
// normalisation, WikiTQ denotation match, token F1 and numeric tolerance.
//
// Everything here is a pure function of its arguments.
package answer
