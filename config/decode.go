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
	d := &yamlDecoder{file: file, known: settingKeys(reflect.TypeOf(*c), "")}
	if root.Kind != yaml.MappingNode {
		return []error{fmt.Errorf("%s: want a mapping of settings (key: value), not %s", where(file, root.Line), shown(root))}
	}
	d.section(root, reflect.ValueOf(c).Elem(), "")
	return d.problems
}

// yamlDecoder walks a YAML mapping along the struct it fills.
type yamlDecoder struct {
	file     string
	known    []string // every setting's key, for suggestions
	problems []error
}

func (d *yamlDecoder) add(line int, key string, err error) {
	d.problems = append(d.problems, &SettingError{Key: key, File: d.file, Line: line, Err: err})
}

// section fills the struct v from the mapping n, whose keys are under prefix.
func (d *yamlDecoder) section(n *yaml.Node, v reflect.Value, prefix string) {
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
		f, ok := fieldByKey(v, k.Value)
		if !ok {
			d.add(k.Line, key, d.unknown(key))
			continue
		}
		if val.Kind == yaml.AliasNode {
			val = val.Alias
		}
		if isSection(f.Type()) {
			switch {
			case val.Kind == yaml.MappingNode:
				d.section(val, f, key)
			case val.Kind == yaml.ScalarNode && val.Tag == "!!null":
				// "room:" with nothing under it: the defaults stay.
			default:
				d.add(val.Line, key, fmt.Errorf("want a mapping of settings, not %s", shown(val)))
			}
			continue
		}
		if err := val.Decode(f.Addr().Interface()); err != nil {
			d.add(val.Line, key, plainTypeError(err, f.Type(), val))
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

// fieldByKey is the field of struct v whose yaml tag is key.
func fieldByKey(v reflect.Value, key string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		if name, ok := yamlName(t.Field(i)); ok && name == key {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// settingKeys lists the dotted keys of struct t's settings, sections
// included, in declaration order.
func settingKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := range t.NumField() {
		name, ok := yamlName(t.Field(i))
		if !ok {
			continue
		}
		if prefix != "" {
			name = prefix + "." + name
		}
		keys = append(keys, name)
		if ft := t.Field(i).Type; isSection(ft) {
			keys = append(keys, settingKeys(ft, name)...)
		}
	}
	return keys
}

func yamlName(f reflect.StructField) (string, bool) {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "" || name == "-" || !f.IsExported() {
		return "", false
	}
	return name, true
}

// isSection reports whether t is a group of settings (room:, rtc:, ...)
// rather than one setting's value.
func isSection(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]())
}

// where names a line of file ("bayan.yaml:4", or "line 4" for no file).
func where(file string, line int) string {
	if file == "" {
		return fmt.Sprintf("line %d", line)
	}
	return fmt.Sprintf("%s:%d", file, line)
}
