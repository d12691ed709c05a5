// Package layering holds the test that keeps Bayan's packages layered:
// data flows signaling -> room -> sfu, and nothing imports upward.
package layering

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/bayan-dev/bayan/"

// forbidden returns, for each package (and those below it), the packages
// it must not import, even indirectly: upward calls go through interfaces
// the lower package defines.
func forbidden() map[string][]string {
	return map[string][]string{
		"sfu":       {"room", "signaling", "auth", "classroom", "store", "server", "config", "web", "loadtest", "apps"},
		"room":      {"signaling", "auth", "classroom", "store", "server", "config", "web", "loadtest", "apps"},
		"signaling": {"classroom", "store", "server", "config", "web", "loadtest", "apps"},
		"auth":      {"sfu", "room", "signaling", "classroom", "store", "server", "config", "web", "loadtest", "apps"},
		"classroom": {"signaling", "server", "config", "web", "loadtest", "apps"},
		"store":     {"sfu", "room", "signaling", "classroom", "server", "config", "web", "loadtest", "apps"},
		"config":    {"sfu", "room", "signaling", "classroom", "server", "web", "loadtest", "apps"},
		"apps":      {"sfu", "room", "server", "config", "web", "loadtest"},
	}
}

func TestNoPackageImportsUpward(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps=false", "-f", "{{.ImportPath}}:{{range .Deps}} {{.}}{{end}}", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, ":")
		rel := strings.TrimPrefix(pkg, module)
		for layer, banned := range forbidden() {
			if rel != layer && !strings.HasPrefix(rel, layer+"/") {
				continue
			}
			checked++
			for _, dep := range strings.Fields(deps) {
				d, ok := strings.CutPrefix(dep, module)
				if !ok {
					continue
				}
				for _, b := range banned {
					if d == b || strings.HasPrefix(d, b+"/") {
						t.Errorf("%s imports %s (through its dependencies): %s must not depend on %s", rel, d, layer, b)
					}
				}
			}
		}
	}
	if checked < 5 {
		t.Fatalf("checked only %d packages: go list printed %q", checked, out)
	}
}
