package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// `bayan class` against a node started by `bayan serve --dev`: create,
// start, a teacher's join token, and a clear error for a missing class.
func TestClassCommands(t *testing.T) {
	s, _, _ := serveDev(t, filepath.Join(t.TempDir(), "data"))

	class := func(args ...string) (string, error) {
		t.Helper()
		a, out, _ := newApp(nil)
		err := a.run(context.Background(), append([]string{"class", "--url", s.HTTPURL()}, args...))
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
	if _, err := class("list", "--api-secret", "wrong-wrong-wrong-wrong-wrong-wrong"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a wrong secret: %v", err)
	}
}
