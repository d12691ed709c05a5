package config

import (
	"fmt"
	"strings"
)

// SettingError is a problem with one setting, named by its YAML key.
type SettingError struct {
	// Key is the setting's YAML key, dotted: "room.empty_timeout".
	Key string
	// File and Line say where in the YAML file it is written; empty and 0
	// when the problem is not tied to a line (a value from the environment
	// or a flag, or one setting checked against another).
	File string
	Line int
	Err  error
}

func (e *SettingError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s: %s: %v", where(e.File, e.Line), e.Key, e.Err)
	}
	return e.Key + ": " + e.Err.Error()
}

func (e *SettingError) Unwrap() error { return e.Err }

// Problems is every problem found in a configuration, so that one run
// shows all there is to fix. errors.Is and errors.As see each of them.
type Problems []error

func (p Problems) Error() string {
	if len(p) == 1 {
		return "config: " + p[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "config: %d problems:", len(p))
	for _, e := range p {
		b.WriteString("\n  ")
		b.WriteString(e.Error())
	}
	return b.String()
}

func (p Problems) Unwrap() []error { return p }
