package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"

	"tabler1/layouts"
)

// cmdGen dispatches gen lti and gen tables.
func cmdGen(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprint(e.stdout, genUsage)
			return errHelp
		}
		fmt.Fprint(e.stderr, genUsage)
		return usageError{"want a subcommand: lti or tables"}
	}
	switch args[0] {
	case "lti":
		return genLTI(ctx, e, args[1:])
	case "tables":
		return genTables(ctx, e, args[1:])
	}
	fmt.Fprint(e.stderr, genUsage)
	return usageError{fmt.Sprintf("unknown subcommand %q: want lti or tables", args[0])}
}

const genUsage = `Usage: tabler1 gen lti|tables [flags]

  gen lti     Layout Transformation Inference triples (source, target, program) as JSONL
  gen tables  tiny random tables as JSONL ({"id", "table"} per line)

tabler1 gen lti --help and tabler1 gen tables --help list the flags.
`

// seededRand is the generator's randomness: one PCG stream per seed.
func seededRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x7ab1e51))
}

func genLTI(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "gen lti", "--n N --seed S --out FILE [--in FILE] [--max-ops K] [--ops a,b=2,...]",
		"Generate LTI triples: each line is {\"id\", \"source\", \"target\", \"program\", \"ops\"}, where program is\n"+
			"pandas code turning source (as df) into target. Sources come from --in (a uniform benchmark JSONL,\n"+
			"a gen tables JSONL, or any table file tabler1 reads) or, without --in, from generated tiny tables.\n"+
			"The same flags and seed give the same bytes.\nOperators: "+strings.Join(layouts.OpNames(), ", "))
	in := fs.String("in", "", "source tables: JSONL with a \"table\" per line, or one table file (.csv, .tsv, .json, .md, .html)")
	n := fs.Int("n", 0, "number of triples")
	seed := fs.Uint64("seed", 1, "random seed")
	out := fs.String("out", "", "output JSONL file (- for stdout)")
	minOps := fs.Int("min-ops", 1, "fewest operators per triple")
	maxOps := fs.Int("max-ops", 3, "most operators per triple")
	ops := fs.String("ops", "", "operator mix: names (equal weights) or name=weight, comma-separated; default all")
	maxRows := fs.Int("max-rows", 20, "crop source tables to this many rows (negative: no cap)")
	maxCols := fs.Int("max-cols", 8, "crop source tables to this many columns (negative: no cap)")
	nTables := fs.Int("tables", 200, "without --in: how many tiny tables to generate as sources")
	if err := parseFlags(e, fs, args, false); err != nil {
		return err
	}
	if err := requireFlags(fs, "out"); err != nil {
		return err
	}
	switch {
	case *n <= 0:
		fs.Usage()
		return usageError{"--n must be positive"}
	case *minOps < 1 || *maxOps < *minOps:
		fs.Usage()
		return usageError{fmt.Sprintf("--min-ops %d and --max-ops %d: want 1 <= min-ops <= max-ops", *minOps, *maxOps)}
	case *maxRows == 0 || *maxCols == 0:
		fs.Usage()
		return usageError{"--max-rows and --max-cols must not be 0"}
	case *in == "" && *nTables <= 0:
		fs.Usage()
		return usageError{"--tables must be positive"}
	}
	weights, err := layouts.ParseOpWeights(*ops)
	if err != nil {
		fs.Usage()
		return usageError{"--ops: " + err.Error()}
	}
	rng := seededRand(*seed)
	var sources []*layouts.Table
	if *in != "" {
		if sources, err = readTables(*in); err != nil {
			return err
		}
	} else {
		sources = make([]*layouts.Table, *nTables)
		for i := range sources {
			sources[i] = layouts.GenerateTable(rng, layouts.TinyOptions{})
		}
	}
	g, err := layouts.NewLTIGenerator(sources, layouts.LTIOptions{
		MinOps: *minOps, MaxOps: *maxOps, MaxRows: *maxRows, MaxCols: *maxCols, Weights: weights,
	})
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	return writeJSONL(*out, e.stdout, func(enc *json.Encoder) error {
		for i := 0; i < *n; i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			task, err := g.Next(rng)
			if err != nil {
				return fmt.Errorf("after %d of %d triples: %w", i, *n, err)
			}
			if err := enc.Encode(task); err != nil {
				return err
			}
		}
		return nil
	})
}

// readTables reads every table of a JSONL file, or the one table of any
// other file ReadFile knows.
func readTables(path string) ([]*layouts.Table, error) {
	if strings.HasSuffix(strings.ToLower(path), ".jsonl") {
		fh, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		return layouts.ReadJSONLTables(fh, path)
	}
	t, err := layouts.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return []*layouts.Table{t}, nil
}

func genTables(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "gen tables", "--n N --seed S --out FILE [--min-rows R] [--max-rows R] [--min-cols C] [--max-cols C]",
		"Generate tiny random tables (names, categories, integers, decimals, percentages, dates, years, scores),\n"+
			"one {\"id\", \"table\"} per line. The same flags and seed give the same bytes.")
	n := fs.Int("n", 0, "number of tables")
	seed := fs.Uint64("seed", 1, "random seed")
	out := fs.String("out", "", "output JSONL file (- for stdout)")
	var opt layouts.TinyOptions
	fs.IntVar(&opt.MinRows, "min-rows", 3, "fewest body rows")
	fs.IntVar(&opt.MaxRows, "max-rows", 12, "most body rows")
	fs.IntVar(&opt.MinCols, "min-cols", 2, "fewest columns")
	fs.IntVar(&opt.MaxCols, "max-cols", 6, "most columns")
	if err := parseFlags(e, fs, args, false); err != nil {
		return err
	}
	if err := requireFlags(fs, "out"); err != nil {
		return err
	}
	if *n <= 0 || opt.MinRows < 1 || opt.MaxRows < opt.MinRows || opt.MinCols < 1 || opt.MaxCols < opt.MinCols {
		fs.Usage()
		return usageError{"want --n > 0, 1 <= min-rows <= max-rows, 1 <= min-cols <= max-cols"}
	}
	rng := seededRand(*seed)
	return writeJSONL(*out, e.stdout, func(enc *json.Encoder) error {
		for i := 0; i < *n; i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			rec := struct {
				ID    string         `json:"id"`
				Table *layouts.Table `json:"table"`
			}{fmt.Sprintf("tiny-%d-%06d", *seed, i), layouts.GenerateTable(rng, opt)}
			if err := enc.Encode(rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeJSONL runs fill with an encoder on path (stdout for "-"); a file
// is written whole or removed.
func writeJSONL(path string, stdout io.Writer, fill func(*json.Encoder) error) error {
	var w io.Writer = stdout
	var fh *os.File
	if path != "-" {
		var err error
		if fh, err = os.Create(path); err != nil {
			return err
		}
		w = fh
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	err := fill(enc)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if fh != nil {
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}
	return err
}
