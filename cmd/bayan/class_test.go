package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bayan-dev/bayan/config"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/server"
)

// `bayan class` against a node started by `bayan serve --dev`: create,
// start, a teacher's join token, and a clear error for a missing class.
func TestClassCommands(t *testing.T) {
	s, _, _ := serveDev(t, filepath.Join(t.TempDir(), "data"))

	class := func(args ...string) (string, error) {
		t.Helper()
		a, out, _ := newApp(nil)
		err := a.run(context.Background(), append([]string{"class", "--dev", "--url", s.HTTPURL()}, args...))
		return out.String(), err
	}
	out, err := class("create", "--title", "Physics", "--teacher", "mr-k", "--student", "ana", "--length", "30m")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	var c struct{ ID, Title, State string }
	if err := json.Unmarshal([]byte(out), &c); err != nil || !strings.HasPrefix(c.ID, "CL_") || c.State != "scheduled" {
		t.Fatalf("create printed %q (%v)", out, err)
	}
	if out, err = class("start", c.ID); err != nil || !strings.Contains(out, `"state": "live"`) {
		t.Fatalf("start: %q, %v", out, err)
	}
	out, err = class("join", c.ID, "--identity", "mr-k")
	var j struct{ Token, Role, URL string }
	if err != nil || json.Unmarshal([]byte(out), &j) != nil || j.Role != "teacher" || j.Token == "" || !strings.HasPrefix(j.URL, "ws://127.0.0.1:") {
		t.Fatalf("join: %q, %v", out, err)
	}
	out, err = class("attendance", c.ID)
	var rep struct {
		Class    string
		Students []struct {
			Identity string
			Absent   bool
		}
	}
	if err != nil || json.Unmarshal([]byte(out), &rep) != nil || rep.Class != c.ID || len(rep.Students) != 1 ||
		rep.Students[0].Identity != "ana" || !rep.Students[0].Absent {
		t.Fatalf("attendance: %q, %v", out, err)
	}
	out, err = class("attendance", c.ID, "--csv", "--grace", "10m")
	rows, cerr := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || cerr != nil || len(rows) != 3 || rows[0][0] != "identity" || rows[1][0] != "ana" || rows[2][0] != "mr-k" {
		t.Fatalf("attendance --csv: %q, %v, %v", out, err, cerr)
	}
	if out, err = class("polls", c.ID); err != nil || !strings.Contains(out, `"polls": []`) {
		t.Fatalf("polls: %q, %v", out, err)
	}
	if _, err := class("join", c.ID, "--identity", "stranger"); err == nil || !strings.Contains(err.Error(), "not on this class's roster") {
		t.Errorf("a stranger's join: %v", err)
	}
	if _, err := class("get", "CL_nope"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("get of a missing class: %v", err)
	}
	if _, err := class("list", "--api-key", "devkey", "--api-secret", "wrong-wrong-wrong-wrong-wrong-wrong"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a wrong secret: %v", err)
	}
}

// `bayan class` signs with the keys serve reads (--config, $BAYAN_CONFIG,
// $BAYAN_KEYS) and finds the node from the same configuration.
func TestClassReadsTheConfiguration(t *testing.T) {
	s := testserver.Start(t, func(c *server.Config) { c.StoreDSN = filepath.Join(t.TempDir(), "bayan.db") })
	public := s.HTTPURL()
	file := filepath.Join(t.TempDir(), "bayan.yaml")
	yaml := "keys: {" + testserver.Key + ": " + testserver.Secret + "}\npublic_url: " + public + "\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"--config", nil, []string{"--config", file}},
		{"BAYAN_CONFIG", map[string]string{config.EnvConfig: file}, nil},
		{"BAYAN_KEYS and BAYAN_PUBLIC_URL", map[string]string{config.EnvKeys: testserver.Key + ": " + testserver.Secret, config.Env("public_url"): public}, nil},
		{"--api-key from the file", nil, []string{"--config", file, "--api-key", testserver.Key}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, out, _ := newApp(tc.env)
			args := append(append([]string{"class"}, tc.args...), "create", "--title", tc.name, "--teacher", "mr-k")
			if err := a.run(context.Background(), args); err != nil {
				t.Fatalf("class create: %v", err)
			}
			var c struct{ ID, Title string }
			if err := json.Unmarshal([]byte(out.String()), &c); err != nil || c.Title != tc.name {
				t.Fatalf("create printed %q (%v)", out, err)
			}
			if got, err := s.Store().GetClass(context.Background(), c.ID); err != nil || got.Title != tc.name {
				t.Errorf("the node has %+v, %v", got, err)
			}
		})
	}
	// Without a configured key, the error says how to get one.
	a, _, _ := newApp(nil)
	err := a.run(context.Background(), []string{"class", "list", "--url", public})
	if err == nil || !strings.Contains(err.Error(), "--dev") || !strings.Contains(err.Error(), config.EnvKeys) {
		t.Errorf("class without keys: %v", err)
	}
}

// The node's URL defaults from its configuration: public_url, else the
// bind address and port, with localhost for a wildcard address.
func TestNodeURL(t *testing.T) {
	for _, tc := range []struct {
		public, bind string
		port         int
		want         string
	}{
		{"https://class.example.org/", "0.0.0.0", 7880, "https://class.example.org"},
		{"", "0.0.0.0", 9000, "http://localhost:9000"},
		{"", "::", 7880, "http://localhost:7880"},
		{"", "127.0.0.1", 7880, "http://127.0.0.1:7880"},
		{"", "2001:db8::5", 7880, "http://[2001:db8::5]:7880"},
	} {
		c := config.Default()
		c.PublicURL, c.BindAddress, c.Port = tc.public, tc.bind, tc.port
		if got := nodeURL(c); got != tc.want {
			t.Errorf("nodeURL(public %q, bind %q, port %d) = %q, want %q", tc.public, tc.bind, tc.port, got, tc.want)
		}
	}
}
