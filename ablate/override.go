package ablate

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"tabler1/trainer"
)

// segment is one step of a key path: a mapping key, or a list index when
// key is "".
type segment struct {
	key   string
	index int
}

// parsePath reads a key path, e.g. rewards.short_code.penalty or
// stages[1].optim.lr.
func parsePath(p string) ([]segment, error) {
	if strings.TrimSpace(p) == "" {
		return nil, errors.New("empty key path")
	}
	var out []segment
	for _, part := range strings.Split(p, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name == "" {
			return nil, fmt.Errorf("key path %q: empty key before %q; write keys as a.b[2].c", p, part)
		}
		out = append(out, segment{key: name})
		for rest != "" {
			num, after, ok := strings.Cut(rest, "]")
			i, err := strconv.Atoi(num)
			if !ok || err != nil || i < 0 {
				return nil, fmt.Errorf("key path %q: bad list index in %q; write keys as a.b[2].c", p, part)
			}
			out = append(out, segment{index: i})
			if after == "" {
				break
			}
			if !strings.HasPrefix(after, "[") {
				return nil, fmt.Errorf("key path %q: unexpected %q after an index", p, after)
			}
			rest = after[1:]
		}
	}
	return out, nil
}

// harnessKeys are set by the harness for every arm-seed.
var harnessKeys = []string{"seed", "name", "run_dir"}

// setPath replaces the value at path in the mapping root with v, creating
// missing mapping keys (Resolve then refuses keys the configuration does
// not know); a list index must exist.
func setPath(root *yaml.Node, path []segment, v *yaml.Node) error {
	n := root
	for i, seg := range path {
		last := i == len(path)-1
		if seg.key == "" {
			if n.Kind != yaml.SequenceNode {
				return fmt.Errorf("index [%d] applied to a %s, not a list", seg.index, kindName(n))
			}
			if seg.index >= len(n.Content) {
				return fmt.Errorf("index [%d] is past the list's end (%d items)", seg.index, len(n.Content))
			}
			if last {
				n.Content[seg.index] = v
				return nil
			}
			n = n.Content[seg.index]
			continue
		}
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			*n = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		}
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("key %q applied to a %s, not a mapping", seg.key, kindName(n))
		}
		found := false
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == seg.key {
				if last {
					n.Content[j+1] = v
					return nil
				}
				n = n.Content[j+1]
				found = true
				break
			}
		}
		if found {
			continue
		}
		child := v
		if !last {
			child = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			if path[i+1].key == "" {
				return fmt.Errorf("index [%d] applied to %q, which the base does not set", path[i+1].index, seg.key)
			}
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: seg.key}, child)
		if last {
			return nil
		}
		n = child
	}
	return nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	default:
		return "scalar"
	}
}

// dropStages removes the stages whose kind is listed.
func dropStages(root *yaml.Node, kinds []string) error {
	var stages *yaml.Node
	for j := 0; j+1 < len(root.Content); j += 2 {
		if root.Content[j].Value == "stages" {
			stages = root.Content[j+1]
		}
	}
	if stages == nil || stages.Kind != yaml.SequenceNode {
		return errors.New("stages.without: the base has no stages list")
	}
	for _, k := range kinds {
		if !slices.Contains(trainer.StageKinds, k) {
			return fmt.Errorf("stages.without: unknown stage kind %q; want one of %s", k, strings.Join(trainer.StageKinds, ", "))
		}
	}
	removed := map[string]bool{}
	var keep []*yaml.Node
	for _, st := range stages.Content {
		kind := ""
		for j := 0; st.Kind == yaml.MappingNode && j+1 < len(st.Content); j += 2 {
			if st.Content[j].Value == "kind" {
				kind = st.Content[j+1].Value
			}
		}
		if slices.Contains(kinds, kind) {
			removed[kind] = true
			continue
		}
		keep = append(keep, st)
	}
	for _, k := range kinds {
		if !removed[k] {
			return fmt.Errorf("stages.without: the base has no %s stage", k)
		}
	}
	stages.Content = keep
	return nil
}

// Resolved is one arm-seed's training configuration.
type Resolved struct {
	// YAML is the configuration as written, after the overrides; Config is
	// it decoded, defaulted and validated by package trainer.
	YAML   []byte
	Config *trainer.Config
}

// Resolve applies arm's overrides and stage edits to a copy of the base
// tree, sets seed, name and run_dir, and decodes the result strictly with
// trainer.ParseConfig: an override naming a key the training configuration
// does not know is an error naming the arm and the key.
func (s *Study) Resolve(arm Arm, seed uint64, runDir string) (*Resolved, error) {
	root := deepCopy(s.base)
	keys := make([]string, 0, len(arm.Set))
	for k := range arm.Set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p, err := parsePath(k)
		if err != nil {
			return nil, fmt.Errorf("arm %q: %w", arm.Name, err)
		}
		if slices.Contains(harnessKeys, p[0].key) {
			return nil, fmt.Errorf("arm %q: set %s: the harness sets %s for every arm-seed; vary it through the study's seeds", arm.Name, k, strings.Join(harnessKeys, ", "))
		}
		v := arm.Set[k]
		if err := setPath(root, p, deepCopy(&v)); err != nil {
			return nil, fmt.Errorf("arm %q: set %s: %w", arm.Name, k, err)
		}
	}
	if len(arm.Stages.Without) > 0 {
		if err := dropStages(root, arm.Stages.Without); err != nil {
			return nil, fmt.Errorf("arm %q: %w", arm.Name, err)
		}
	}
	for _, kv := range [][2]string{{"seed", strconv.FormatUint(seed, 10)}, {"name", fmt.Sprintf("%s-%s-seed%d", s.Name, arm.Name, seed)}, {"run_dir", runDir}} {
		tag := "!!str"
		if kv[0] == "seed" {
			tag = "!!int"
		}
		if err := setPath(root, []segment{{key: kv[0]}}, &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: kv[1]}); err != nil {
			return nil, err
		}
	}
	b, err := yaml.Marshal(root)
	if err != nil {
		return nil, fmt.Errorf("arm %q: encoding the configuration: %w", arm.Name, err)
	}
	cfg, err := trainer.ParseConfig(b)
	if err != nil {
		var uk *trainer.UnknownKeyError
		if errors.As(err, &uk) {
			for _, k := range keys {
				if uk.Path == k || strings.HasPrefix(uk.Path, k+".") || strings.HasPrefix(k, uk.Path+".") || strings.HasPrefix(k, uk.Path+"[") {
					msg := fmt.Sprintf("arm %q: set %s: unknown configuration key %q", arm.Name, k, uk.Path)
					if uk.Suggestion != "" {
						msg += fmt.Sprintf(" (did you mean %q?)", uk.Suggestion)
					} else {
						msg += fmt.Sprintf(" (valid keys there: %s)", strings.Join(uk.Valid, ", "))
					}
					return nil, errors.New(msg)
				}
			}
		}
		return nil, fmt.Errorf("arm %q, seed %d: %w", arm.Name, seed, err)
	}
	return &Resolved{YAML: b, Config: cfg}, nil
}

func deepCopy(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, ch := range n.Content {
		c.Content[i] = deepCopy(ch)
	}
	// An alias keeps pointing at its anchor: it is encoded by name, and
	// copying what it points to would expand an alias bomb.
	return &c
}
