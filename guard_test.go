// Guards that keep the tree in shape: every package documents itself, and
// the list of direct dependencies changes only on purpose.
package mailpull_test

import (
	"errors"
	"go/build"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEveryPackageHasADocComment(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if path != "." && strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, 0)
		var noGo *build.NoGoError
		if errors.As(err, &noGo) {
			return nil
		}
		if err != nil {
			return err
		}
		if pkg.Doc == "" && len(pkg.GoFiles) > 0 {
			t.Errorf("package %s (%s) has no doc comment", pkg.Name, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// allowed are the direct dependencies; each one earns its place (see
// docs/architecture.md). Adding one means adding it here, on purpose.
var allowed = map[string]bool{
	"github.com/emersion/go-imap/v2":    true,
	"github.com/emersion/go-sasl":       true,
	"github.com/emersion/go-smtp":       true,
	"github.com/coreos/go-systemd/v22":  true,
	"github.com/go-ldap/ldap/v3":        true,
	"github.com/pelletier/go-toml/v2":   true,
	"go.etcd.io/bbolt":                  true,
	"github.com/schollz/progressbar/v3": true,
	"golang.org/x/term":                 true,
	"golang.org/x/sys":                  true,
	"github.com/godbus/dbus/v5":         true,
}

func TestDirectDependencies(t *testing.T) {
	data, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(f) < 2 || !strings.Contains(f[0], ".") || strings.Contains(line, "// indirect") {
			continue
		}
		if !allowed[f[0]] {
			t.Errorf("go.mod: %s is a new direct dependency; add it to the allowed list with a reason", f[0])
		}
	}
}
