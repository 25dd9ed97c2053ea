package trainer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decodeStrict decodes one YAML document into out (a pointer to a struct).
// Before decoding it walks the node tree against out's type so that an
// unknown key is reported with its line, its path and the nearest valid key;
// the decoder then runs with KnownFields as a second guard.
func decodeStrict(b []byte, out any) error {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return fmt.Errorf("parsing YAML: %w", err)
	}
	if root.Kind == 0 {
		return errors.New("the configuration is empty")
	}
	if err := checkKeys(&root, reflect.TypeOf(out).Elem(), ""); err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("decoding YAML: %w", err)
	}
	return nil
}

// UnknownKeyError is an unknown configuration key.
type UnknownKeyError struct {
	Line, Column int
	Path         string // dotted path of the key, e.g. stages[1].optim.lrr
	Key          string
	Suggestion   string // nearest valid key, "" when none is close
	Valid        []string
}

func (e *UnknownKeyError) Error() string {
	msg := fmt.Sprintf("line %d: unknown key %q (at %s)", e.Line, e.Key, e.Path)
	if e.Suggestion != "" {
		msg += fmt.Sprintf("; did you mean %q?", e.Suggestion)
	} else {
		msg += fmt.Sprintf("; valid keys here: %s", strings.Join(e.Valid, ", "))
	}
	return msg
}

func checkKeys(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if err := checkKeys(c, t, path); err != nil {
				return err
			}
		}
	case yaml.AliasNode:
		if n.Alias != nil {
			return checkKeys(n.Alias, t, path)
		}
	case yaml.SequenceNode:
		if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
			return nil // the decoder reports the type mismatch
		}
		for i, c := range n.Content {
			if err := checkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		switch t.Kind() {
		case reflect.Map:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if err := checkKeys(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value)); err != nil {
					return err
				}
			}
		case reflect.Struct:
			fields := yamlFields(t)
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Tag == "!!merge" || k.Value == "<<" {
					if err := checkKeys(n.Content[i+1], t, path); err != nil {
						return err
					}
					continue
				}
				ft, ok := fields[k.Value]
				if !ok {
					valid := make([]string, 0, len(fields))
					for name := range fields {
						valid = append(valid, name)
					}
					sort.Strings(valid)
					return &UnknownKeyError{Line: k.Line, Column: k.Column, Path: join(path, k.Value), Key: k.Value, Suggestion: nearest(k.Value, valid), Valid: valid}
				}
				if err := checkKeys(n.Content[i+1], ft, join(path, k.Value)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps a struct's YAML keys to their types (inline fields
// flattened).
func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				m[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f.Type
	}
	return m
}

// nearest returns the valid key closest to key by edit distance, or "" when
// none is within a third of the key's length (at least 2 edits).
func nearest(key string, valid []string) string {
	best, bestD := "", -1
	for _, v := range valid {
		d := editDistance(key, v)
		if bestD < 0 || d < bestD {
			best, bestD = v, d
		}
	}
	limit := max(2, len(key)/3)
	if bestD < 0 || bestD > limit {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// DryRun writes the resolved configuration as YAML, followed by the
// environment variables it references and whether each is set (never their
// values), the stage plan and the configuration hash.
func (c *Config) DryRun(w io.Writer, getenv func(string) string) error {
	b, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Errorf("encoding the resolved configuration: %w", err)
	}
	fmt.Fprintf(w, "# resolved configuration (hash %s)\n", c.Hash())
	if _, err := w.Write(b); err != nil {
		return err
	}
	fmt.Fprintln(w, "# secrets (environment variables referenced):")
	vars := c.SecretEnvVars()
	if len(vars) == 0 {
		fmt.Fprintln(w, "#   none")
	}
	for _, v := range vars {
		state := "unset"
		if getenv(v) != "" {
			state = "set"
		}
		fmt.Fprintf(w, "#   %s: %s\n", v, state)
	}
	fmt.Fprintln(w, "# plan:")
	step := 0
	for i, st := range c.Stages {
		fmt.Fprintf(w, "#   stage %d %-8s steps %d-%d, %d questions x %d completions per step, lr %g\n",
			i+1, st.Kind, step+1, step+st.Steps, st.BatchSize, st.GroupSize, st.Optim.LR)
		step += st.Steps
	}
	return nil
}

// SecretEnvVars lists the environment variables the configuration reads
// secrets from.
func (c *Config) SecretEnvVars() []string {
	seen := map[string]bool{}
	var out []string
	add := func(v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	add(c.Backend.TokenEnv)
	for _, e := range c.Model.Endpoints {
		add(e.APIKeyEnv)
	}
	return out
}
