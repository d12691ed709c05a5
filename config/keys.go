package config

import (
	"errors"
	"fmt"
	"strings"
)

// ParseKeys parses API keys written "key: secret", several separated by
// commas or newlines (the format of LiveKit's LIVEKIT_KEYS).
func ParseKeys(s string) (map[string]string, error) {
	keys := map[string]string{}
	for _, entry := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		k, v, ok := strings.Cut(entry, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("entry %q is not of the form \"key: secret\"", redact(entry))
		}
		if _, dup := keys[k]; dup {
			return nil, fmt.Errorf("API key %q is given twice", k)
		}
		keys[k] = v
	}
	if len(keys) == 0 {
		return nil, errors.New("no \"key: secret\" entry found")
	}
	return keys, nil
}

// redact hides what may be a secret in an error message.
func redact(entry string) string {
	if len(entry) <= 4 {
		return "****"
	}
	return entry[:4] + "****"
}
