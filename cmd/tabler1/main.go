// Command tabler1 is the single binary of tabler1: training, evaluation,
// serving the embedded model, LTI generation, running programs in the
// sandbox and the benchmarks. Each subcommand lives in its own file and only
// wires flags to the package that owns the behaviour.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// env is what a subcommand may touch of the outside world; tests pass their
// own.
type env struct {
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

type command struct {
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"gen":     {"generate LTI triples or tiny tables (gen lti|tables)", cmdGen},
		"exec":    {"run one Python program on a table in the sandbox", cmdExec},
		"score":   {"score a predictions file against a benchmark", cmdScore},
		"eval":    {"evaluate an endpoint or checkpoint on the benchmarks", cmdEval},
		"serve":   {"serve a checkpoint of the embedded model over the OpenAI API", cmdServe},
		"train":   {"run a training configuration", cmdTrain},
		"distill": {"distill program answers from a teacher endpoint into SFT JSONL", cmdDistill},
		"plot":    {"draw PNG curves of a run directory", cmdPlot},
		"dash":    {"serve a live dashboard of run directories (curves, rollouts, evals)", cmdDash},
		"bench":   {"benchmarks against an in-process baseline (bench sandbox|rollout|model)", cmdBench},
		"ablate":  {"run an ablation study: arms x seeds, held-out eval, table and plots", cmdAblate},
	}
}

// usageError marks a bad command line: the caller prints usage and exits 2.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// errHelp is returned when the user asked for help: usage was printed, exit 0.
var errHelp = errors.New("help requested")

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		// A second signal takes the default action: kill at once.
		signal.Stop(sigs)
		if sig, ok := s.(syscall.Signal); ok {
			cancel(interrupted{sig})
		}
	}()
	code := run(ctx, &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:])
	signal.Stop(sigs)
	os.Exit(code)
}

// interrupted is the cause of the context's cancellation when a signal
// (SIGINT, SIGTERM) stops a command: it exits 128 + the signal's number
// (130, 143), as a shell reports a process killed by it.
type interrupted struct{ sig syscall.Signal }

func (i interrupted) Error() string { return "interrupted by " + signalName(i.sig) }

func (i interrupted) exitCode() int { return 128 + int(i.sig) }

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// interruption returns the signal that cancelled ctx, if one did.
func interruption(ctx context.Context) (interrupted, bool) {
	var i interrupted
	ok := errors.As(context.Cause(ctx), &i)
	return i, ok
}

func run(ctx context.Context, e *env, args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stdout, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "tabler1: unknown command %q\n\n", args[0])
		usage(e.stderr, cmds)
		return 2
	}
	err := c.run(ctx, e, args[1:])
	var ue usageError
	sig, signalled := interruption(ctx)
	switch {
	case err == nil:
		return 0
	case signalled && errors.Is(err, context.Canceled):
		fmt.Fprintf(e.stderr, "tabler1 %s: %v\n", args[0], sig)
		return sig.exitCode()
	case errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "tabler1 %s: %s\n", args[0], ue.msg)
		return 2
	default:
		fmt.Fprintf(e.stderr, "tabler1 %s: %v\n", args[0], err)
		return 1
	}
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "tabler1: RL training of small language models for program-based table reasoning (Table-r1).")
	fmt.Fprintln(w, "\nUsage: tabler1 <command> [flags]   (tabler1 <command> --help for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, cmds[n].summary)
	}
}

// newFlags returns a flag set that reports errors instead of exiting, with a
// usage text of the form "tabler1 NAME ARGS\n\nSUMMARY\n\nFlags:".
func newFlags(e *env, name, argsUsage, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: tabler1 %s %s\n\n%s\n\nFlags:\n", name, argsUsage, summary)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; -h/--help prints usage to stdout and yields
// errHelp, a bad flag yields a usageError (exit 2) after usage is printed.
// Positional arguments are not allowed unless allowArgs is set.
func parseFlags(e *env, fs *flag.FlagSet, args []string, allowArgs bool) error {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			fs.SetOutput(e.stdout)
			fs.Usage()
			return errHelp
		}
		if a == "--" {
			break
		}
	}
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if !allowArgs && fs.NArg() > 0 {
		fs.Usage()
		return usageError{fmt.Sprintf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	return nil
}

// requireFlags returns a usageError naming the first flag in names that is empty.
func requireFlags(fs *flag.FlagSet, names ...string) error {
	for _, n := range names {
		if f := fs.Lookup(n); f != nil && f.Value.String() == "" {
			fs.Usage()
			return usageError{fmt.Sprintf("--%s is required", n)}
		}
	}
	return nil
}

// printJSON writes v as one line of JSON (HTML characters unescaped).
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
