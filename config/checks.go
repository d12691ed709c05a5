package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/bayan-dev/bayan/internal/publicurl"
)

// MinSecretLength is the shortest API secret accepted outside dev mode.
const MinSecretLength = 32

// ErrNoKeys is returned when no API key is configured outside dev mode.
var ErrNoKeys = errors.New("no API keys configured. Set them in the config file " +
	"(keys: {mykey: <secret of at least 32 characters>}) or in " + EnvKeys + "=\"mykey: <secret>\", " +
	"or run with --dev to use the development key " + DevAPIKey + " / " + DevAPISecret)

// ErrShortSecret is wrapped by the error for a secret below MinSecretLength.
var ErrShortSecret = errors.New("API secret too short")

// Validate checks the configuration; its error is Problems, every problem
// found, each naming its setting and saying how to fix it.
func (c *Config) Validate() error {
	if problems := c.check(); len(problems) > 0 {
		return Problems(problems)
	}
	return nil
}

// check returns every problem with the configuration, each a *SettingError:
// each setting's own check, then those of settings that go together.
func (c *Config) check() []error {
	var problems []error
	for _, s := range settings() {
		if s.check == nil {
			continue
		}
		for _, err := range s.check(c) {
			problems = append(problems, &SettingError{Key: s.key, Err: err})
		}
	}
	if err := c.TLS.validate(c.Port); err != nil {
		problems = append(problems, err)
	}
	if len(c.Webhook.URLs) > 0 && len(c.Keys) > 0 {
		if _, err := c.webhookKey(); err != nil {
			problems = append(problems, err)
		}
	}
	return problems
}

// one is the problems of a check that finds at most one.
func one(err error) []error {
	if err == nil {
		return nil
	}
	return []error{err}
}

func checkKeys(keys map[string]string, c *Config) []error {
	if len(keys) == 0 {
		return []error{ErrNoKeys}
	}
	var problems []error
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		s := keys[k]
		if k == "" || strings.TrimSpace(s) == "" {
			problems = append(problems, fmt.Errorf("API key %q has an empty secret", k))
		} else if len(s) < MinSecretLength && !c.Dev {
			problems = append(problems, fmt.Errorf("%w: the secret of API key %q has %d characters; at least %d are required "+
				"(generate one with `openssl rand -base64 32`). Short secrets are only accepted with --dev",
				ErrShortSecret, k, len(s), MinSecretLength))
		}
	}
	return problems
}

func notEmpty(v string, _ *Config) []error {
	if strings.TrimSpace(v) == "" {
		return one(errors.New("empty"))
	}
	return nil
}

func checkPublicURL(v string, _ *Config) []error {
	if v == "" {
		return nil
	}
	if _, err := publicurl.Parse(v); err != nil {
		return one(fmt.Errorf("%w (want e.g. https://class.example.org)", err))
	}
	return nil
}

func portNumber(v int, _ *Config) []error {
	if v < 0 || v > 65535 {
		return one(fmt.Errorf("%d is not a port number (0-65535; 0 picks a free port)", v))
	}
	return nil
}

func ipAddresses(v StringList, _ *Config) []error {
	var problems []error
	for _, ip := range v {
		if net.ParseIP(ip) == nil {
			problems = append(problems, fmt.Errorf("%q is not an IP address", ip))
		}
	}
	return problems
}

// wholeSeconds refuses what rooms cannot hold: they keep their timeouts in
// whole seconds (as LiveKit's Room does).
func wholeSeconds(v Duration, _ *Config) []error {
	if v > 0 && time.Duration(v) < time.Second {
		return one(fmt.Errorf("%v is under a second; rooms count their timeouts in whole seconds", time.Duration(v)))
	}
	return nil
}

// notNegative refuses negative counts; zero says what 0 means instead.
func notNegative(zero string) func(int, *Config) []error {
	return func(v int, _ *Config) []error {
		if v < 0 {
			return one(fmt.Errorf("%d is negative (%s)", v, zero))
		}
		return nil
	}
}

func checkLogLevel(v string, _ *Config) []error {
	_, err := parseLevel(v)
	return one(err)
}

// parseLevel reads a log level: debug, info, warn or error.
func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%q is not one of debug, info, warn, error", s)
	}
	return l, nil
}

func webhookURLs(v []string, _ *Config) []error {
	var problems []error
	for _, u := range v {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			problems = append(problems, fmt.Errorf("%q is not an absolute http:// or https:// URL", u))
		}
	}
	return problems
}

// validate checks that the TLS settings name one way to a certificate, and
// that with a domain the ACME server has a port to check it on (port is
// the node's HTTPS port). Its error is a *SettingError.
func (t TLSConfig) validate(port int) error {
	files := t.Cert != "" || t.Key != ""
	bad := func(key, format string, args ...any) error {
		return &SettingError{Key: key, Err: fmt.Errorf(format, args...)}
	}
	switch {
	case files && (t.Cert == "" || t.Key == ""):
		return bad("tls.cert", "tls.cert and tls.key go together: set both, the certificate (PEM, with its chain) and its private key")
	case files && t.Domain != "":
		return bad("tls.domain", "tls.cert/tls.key and tls.domain exclude each other: a certificate from files, or one obtained for the domain")
	case t.ACMEEmail != "" && t.Domain == "":
		return bad("tls.acme_email", "only used with tls.domain (automatic certificates)")
	case t.Domain != "" && (strings.ContainsAny(t.Domain, ":/ ") || !strings.Contains(strings.Trim(t.Domain, "."), ".")):
		return bad("tls.domain", "%q is not a domain name; want the bare name, e.g. class.example.org", t.Domain)
	case t.Domain != "" && t.HTTPPort == 0 && port != 443:
		return bad("tls.domain", "needs a port for Let's Encrypt to check it on: tls.http_port (80) "+
			"for HTTP-01, or port 443 for TLS-ALPN; port is %d and tls.http_port 0", port)
	}
	return nil
}

// webhookKey is the API key that signs webhooks.
func (c *Config) webhookKey() (string, error) {
	k := c.Webhook.APIKey
	if k == "" {
		if len(c.Keys) != 1 {
			return "", &SettingError{Key: "webhook.api_key", Err: errors.New("required when several API keys are configured")}
		}
		for only := range c.Keys {
			return only, nil
		}
	}
	if _, ok := c.Keys[k]; !ok {
		return "", &SettingError{Key: "webhook.api_key", Err: fmt.Errorf("%q is not one of the configured keys", k)}
	}
	return k, nil
}
