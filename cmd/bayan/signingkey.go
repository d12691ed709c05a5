package main

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/bayan-dev/bayan/config"
)

// keyFlags choose the API key a command signs with: the configuration serve
// reads, or a key given outright.
type keyFlags struct {
	cf                configFlags
	apiKey, apiSecret string
}

// keyFlagsHelp says how keyFlags choose, for commands' long help.
const keyFlagsHelp = "The key is --api-key/--api-secret; else the key of the configuration serve reads (--config,\n" +
	"$" + config.EnvConfig + ", $" + config.EnvKeys + "): the only one, or the one named by --api-key;\n" +
	"else, with --dev, " + config.DevAPIKey + " / " + config.DevAPISecret + "."

func (f *keyFlags) register(fs *pflag.FlagSet) {
	f.cf.register(fs)
	fs.StringVar(&f.apiKey, "api-key", "", "API key to sign with")
	fs.StringVar(&f.apiSecret, "api-secret", "", "secret of --api-key (default: from the configuration)")
}

// signingKey returns the API key and secret f chooses, as keyFlagsHelp
// describes, and the configuration it read them from: nil when
// --api-secret gave the secret and no configuration was read.
func (a *app) signingKey(f *keyFlags) (key, secret string, cfg *config.Config, err error) {
	if f.apiSecret != "" {
		if f.apiKey == "" {
			return "", "", nil, errors.New("--api-secret needs --api-key")
		}
		return f.apiKey, f.apiSecret, nil, nil
	}
	cfg, err = config.Load(config.Options{File: f.cf.file, Dev: f.cf.dev, LookupEnv: a.lookupEnv})
	if err != nil {
		if errors.Is(err, config.ErrNoKeys) {
			return "", "", nil, errors.New("no API key: pass --api-key and --api-secret, configure keys " +
				"(config file or $" + config.EnvKeys + "), or use --dev for " + config.DevAPIKey + " / " + config.DevAPISecret)
		}
		return "", "", nil, err
	}
	if f.apiKey != "" {
		s, ok := cfg.Keys[f.apiKey]
		if !ok {
			return "", "", nil, fmt.Errorf("API key %q is not configured; pass its secret with --api-secret", f.apiKey)
		}
		return f.apiKey, s, cfg, nil
	}
	if len(cfg.Keys) == 1 {
		for k, s := range cfg.Keys {
			return k, s, cfg, nil
		}
	}
	names := make([]string, 0, len(cfg.Keys))
	for k := range cfg.Keys {
		names = append(names, k)
	}
	sort.Strings(names)
	return "", "", nil, fmt.Errorf("%d API keys are configured (%s): choose one with --api-key", len(names), strings.Join(names, ", "))
}

// nodeURL is the HTTP address of the node cfg configures, for a command to
// call: its public_url, else its bind address (localhost for a wildcard
// one) and port.
func nodeURL(cfg *config.Config) string {
	if cfg.PublicURL != "" {
		return strings.TrimSuffix(cfg.PublicURL, "/")
	}
	return "http://" + net.JoinHostPort(displayHost(cfg.BindAddress), strconv.Itoa(cfg.Port))
}
