package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/agnivade/levenshtein"
	"go.yaml.in/yaml/v3"
)

// decodeYAML reads the YAML document data over c one setting at a time,
// so that each problem is reported under its key and line and one bad
// setting does not hide the next. It returns the problems in file order;
// a document that is not YAML at all is a single problem that is not a
// *SettingError.
func (c *Config) decodeYAML(data []byte, file string) []error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		if file == "" {
			return []error{err}
		}
		return []error{fmt.Errorf("%s: %w", file, err)} // yaml's message has the line
	}
	if len(doc.Content) == 0 {
		return nil // empty, or only comments
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		return []error{fmt.Errorf("%s: want a mapping of settings (key: value), not %s", where(file, root.Line), shown(root))}
	}
	d := newYAMLDecoder(file)
	d.section(root, c, "")
	return d.problems
}

// yamlDecoder walks a YAML mapping along the settings it fills.
type yamlDecoder struct {
	file     string
	settings map[string]setting // by key
	sections map[string]bool    // rtc, room, ...
	known    []string           // every setting's key and section, in order, for suggestions
	problems []error
}

func newYAMLDecoder(file string) *yamlDecoder {
	d := &yamlDecoder{file: file, settings: map[string]setting{}, sections: map[string]bool{}}
	for _, s := range settings() {
		if sec := section(s.key); sec != "" && !d.sections[sec] {
			d.sections[sec] = true
			d.known = append(d.known, sec)
		}
		d.settings[s.key] = s
		d.known = append(d.known, s.key)
	}
	return d
}

func (d *yamlDecoder) add(line int, key string, err error) {
	d.problems = append(d.problems, &SettingError{Key: key, File: d.file, Line: line, Err: err})
}

// section fills c from the mapping n, whose keys are under prefix.
func (d *yamlDecoder) section(n *yaml.Node, c *Config, prefix string) {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		if prefix != "" {
			key = prefix + "." + k.Value
		}
		if first, dup := seen[k.Value]; dup {
			d.add(k.Line, key, fmt.Errorf("given twice (first on line %d)", first))
			continue
		}
		seen[k.Value] = k.Line
		s, isSetting := d.settings[key]
		isSection := prefix == "" && d.sections[key]
		if strings.Contains(k.Value, ".") || (!isSetting && !isSection) {
			// A dotted key ("rtc.udp_port:") is no setting: sections nest.
			d.add(k.Line, key, d.unknown(key))
			continue
		}
		if val.Kind == yaml.AliasNode {
			val = val.Alias
		}
		if isSection {
			switch {
			case val.Kind == yaml.MappingNode:
				d.section(val, c, key)
			case val.Kind == yaml.ScalarNode && val.Tag == "!!null":
				// "room:" with nothing under it: the defaults stay.
			default:
				d.add(val.Line, key, fmt.Errorf("want a mapping of settings, not %s", shown(val)))
			}
			continue
		}
		p := s.field(c)
		if err := val.Decode(p); err != nil {
			d.add(val.Line, key, plainTypeError(err, reflect.TypeOf(p).Elem(), val))
		}
	}
}

// unknown is the error for a key no setting has, with the nearest known
// key when one is close enough to be a misspelling of it.
func (d *yamlDecoder) unknown(key string) error {
	leaf := key[strings.LastIndex(key, ".")+1:]
	best, bestDist := "", 0
	for _, k := range d.known {
		dist := levenshtein.ComputeDistance(key, k)
		// The right name in the wrong section ("empty_timeout" at the top)
		// is one step from the right key.
		if leaf == k[strings.LastIndex(k, ".")+1:] {
			dist = min(dist, 1)
		}
		if best == "" || dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if best != "" && bestDist <= max(2, len(key)/4) {
		return fmt.Errorf("unknown setting; did you mean %q?", best)
	}
	return errors.New("unknown setting")
}

// plainTypeError rewrites yaml's "cannot unmarshal !!str into int", which
// names Go types, as what the setting wants.
func plainTypeError(err error, t reflect.Type, n *yaml.Node) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err // our own types' errors say what they want already
	}
	for _, m := range te.Errors {
		if strings.Contains(m, "cannot unmarshal") {
			return fmt.Errorf("want %s, not %s", wanted(t), shown(n))
		}
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		msgs[i] = m
		if _, rest, ok := strings.Cut(m, ": "); ok && strings.HasPrefix(m, "line ") {
			msgs[i] = rest
		}
	}
	return errors.New(strings.Join(msgs, "; "))
}

// wanted says in words what a setting of type t is written as.
func wanted(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Duration]():
		return `a duration like "30s" or a number of seconds`
	case reflect.TypeFor[StringList]():
		return "a string or a list of strings"
	}
	switch t.Kind() {
	case reflect.Int:
		return "a whole number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list of " + plural(t.Elem())
	case reflect.Map:
		return "a mapping of names to " + plural(t.Elem())
	}
	return t.Kind().String()
}

// plural names values of type t in the plural, for wanted's lists.
func plural(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "strings"
	case reflect.Int:
		return "whole numbers"
	}
	return "values like " + wanted(t)
}

// shown describes what a node holds, for an error.
func shown(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

// where names a line of file ("bayan.yaml:4", or "line 4" for no file).
func where(file string, line int) string {
	if file == "" {
		return fmt.Sprintf("line %d", line)
	}
	return fmt.Sprintf("%s:%d", file, line)
}
