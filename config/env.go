package config

import (
	"fmt"
	"strconv"
	"strings"
)

// EnvConfig names the YAML file to read when --config does not.
const EnvConfig = "BAYAN_CONFIG"

// EnvKeys is Env("keys"), the API keys as "key: secret", several separated
// by commas or newlines; a constant because messages and help name it.
const EnvKeys = "BAYAN_KEYS"

// applyEnv sets every setting whose BAYAN_* variable env holds, ignoring
// empty ones, and returns the problems of the values it could not read,
// each naming its variable.
func (c *Config) applyEnv(env func(string) (string, bool)) []error {
	var problems []error
	for _, s := range settings() {
		name := Env(s.key)
		v, ok := env(name)
		v = strings.TrimSpace(v)
		if !ok || v == "" {
			continue
		}
		if err := setFromString(s.field(c), v); err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", name, err))
		}
	}
	return problems
}

// setFromString sets the value p points at from its environment form.
func setFromString(p any, v string) error {
	switch p := p.(type) {
	case *string:
		*p = v
	case *int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a number", v)
		}
		*p = n
	case *bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*p = b
	case *Duration:
		d, err := ParseDuration(v)
		if err != nil {
			return err
		}
		*p = Duration(d)
	case *StringList:
		*p = splitList(v)
	case *[]string:
		*p = splitList(v)
	case *map[string]string:
		keys, err := ParseKeys(v)
		if err != nil {
			return err
		}
		*p = keys
	default:
		return fmt.Errorf("a setting of type %T cannot be read from the environment", p)
	}
	return nil
}

// splitList splits a comma- or whitespace-separated list.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' })
}
