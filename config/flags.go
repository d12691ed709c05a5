package config

import (
	"fmt"
	"reflect"

	"github.com/spf13/pflag"
)

// Flags are serve's setting flags (--port, --bind, ...), one for each
// setting that has one; Load applies those given over the environment.
type Flags struct {
	set *pflag.FlagSet
	// values is what the flags parse into, before Load copies the given ones.
	values Config
}

// NewFlags registers the setting flags on fs, each showing its setting's
// default, and returns them for Options.Flags.
func NewFlags(fs *pflag.FlagSet) *Flags {
	f := &Flags{set: fs}
	for _, s := range settings() {
		if s.flag == "" {
			continue
		}
		s.setDefault(&f.values)
		switch p := s.field(&f.values).(type) {
		case *string:
			fs.StringVar(p, s.flag, *p, s.usage)
		case *int:
			fs.IntVar(p, s.flag, *p, s.usage)
		case *StringList:
			fs.StringSliceVar((*[]string)(p), s.flag, *p, s.usage)
		default:
			panic(fmt.Sprintf("config: setting %s of type %T cannot have a flag", s.key, p))
		}
	}
	return f
}

// given reports whether the flag of setting key was on the command line.
func (f *Flags) given(key string) bool {
	if f == nil {
		return false
	}
	for _, s := range settings() {
		if s.key == key {
			return s.flag != "" && f.set.Changed(s.flag)
		}
	}
	return false
}

// apply sets in c every setting whose flag was given; an empty list (as
// --node-ip= gives) leaves the configured one alone.
func (f *Flags) apply(c *Config) {
	if f == nil {
		return
	}
	for _, s := range settings() {
		if s.flag == "" || !f.set.Changed(s.flag) {
			continue
		}
		v := reflect.ValueOf(s.field(&f.values)).Elem()
		if v.Kind() == reflect.Slice && v.Len() == 0 {
			continue
		}
		if v.Kind() == reflect.Slice {
			v = reflect.AppendSlice(reflect.MakeSlice(v.Type(), 0, v.Len()), v) // c must not share the flag's list
		}
		reflect.ValueOf(s.field(c)).Elem().Set(v)
	}
}
