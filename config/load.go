package config

import (
	"errors"
	"fmt"
	"os"
)

// Options say where Load looks.
type Options struct {
	// File is the YAML file (--config); empty falls back to $BAYAN_CONFIG,
	// and to no file at all.
	File string
	// Dev is development mode (--dev).
	Dev bool
	// Flags override the file and the environment: those given on the
	// command line (NewFlags); nil is none.
	Flags *Flags
	// LookupEnv reads the environment; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// Load builds the configuration from defaults, the file, the environment
// and flags, in that order of precedence (flags win), and validates it.
// It describes settings only: cmd/bayan builds a server from them.
func Load(opts Options) (*Config, error) {
	env := opts.LookupEnv
	if env == nil {
		env = os.LookupEnv
	}
	c := Default()
	file := opts.File
	if file == "" {
		file, _ = env(EnvConfig)
	}
	var problems Problems
	failed := map[string]bool{} // settings the file got wrong: checking their defaults would mislead
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		for _, err := range c.decodeYAML(data, file) {
			var se *SettingError
			if !errors.As(err, &se) {
				return nil, Problems{err} // not YAML: nothing else can be checked
			}
			problems = append(problems, err)
			failed[se.Key] = true
		}
	}
	problems = append(problems, c.applyEnv(env)...)
	opts.Flags.apply(c)
	c.Dev = opts.Dev
	if c.Dev {
		if !opts.Flags.given("bind_address") {
			c.BindAddress = DevBindAddress
		}
		if len(c.Keys) == 0 {
			c.Keys = map[string]string{DevAPIKey: DevAPISecret}
		}
	}
	for _, err := range c.check() {
		if se := (*SettingError)(nil); !errors.As(err, &se) || !failed[se.Key] {
			problems = append(problems, err)
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return c, nil
}

// Parse reads a YAML configuration over the defaults, without the
// environment, flags or validation. Its error is Problems: every
// setting the YAML gets wrong.
func Parse(data []byte) (*Config, error) {
	c := Default()
	if problems := c.decodeYAML(data, ""); len(problems) > 0 {
		return nil, Problems(problems)
	}
	return c, nil
}
