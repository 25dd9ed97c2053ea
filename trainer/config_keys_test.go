package trainer

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// configKeys lists every key path the configuration decoder accepts
// (yamlFields, as checkKeys walks it): "a.b" for a nested key, "[]" for a
// list's items, "<key>" for a map's keys.
func configKeys(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if e := t.Elem(); e.Kind() == reflect.Struct || (e.Kind() == reflect.Pointer && e.Elem().Kind() == reflect.Struct) {
			return configKeys(e, prefix+"[]")
		}
	case reflect.Map:
		if e := t.Elem(); e.Kind() == reflect.Struct {
			return configKeys(e, prefix+".<key>")
		}
	case reflect.Struct:
		if t.PkgPath() == "time" {
			return nil
		}
		var out []string
		for k, ft := range yamlFields(t) {
			p := join(prefix, k)
			out = append(out, p)
			out = append(out, configKeys(ft, p)...)
		}
		return out
	}
	return nil
}

// TestConfigurationDocListsEveryKey compares the key list of
// docs/configuration.md ("Every key") with the keys the decoder accepts.
func TestConfigurationDocListsEveryKey(t *testing.T) {
	b, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Every key\n.*?```text\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("docs/configuration.md has no \"## Every key\" section with a ```text block")
	}
	var doc []string
	for _, l := range strings.Split(string(m[1]), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			doc = append(doc, l)
		}
	}
	got := configKeys(reflect.TypeOf(Config{}), "")
	sort.Strings(got)
	for _, k := range got {
		if !slices.Contains(doc, k) {
			t.Errorf("the decoder accepts %q; docs/configuration.md does not list it", k)
		}
	}
	for _, k := range doc {
		if !slices.Contains(got, k) {
			t.Errorf("docs/configuration.md lists %q; the decoder does not accept it", k)
		}
	}
	if t.Failed() {
		t.Logf("the keys:\n%s", strings.Join(got, "\n"))
	}
}
