// Guards that keep the tree in shape: every package documents itself, and
// the list of direct dependencies changes only on purpose.
package mailpull_test

import (
	"go/parser"
	"go/token"
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
		if strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" {
			return filepath.SkipDir
		}
		pkgs, err := parser.ParseDir(token.NewFileSet(), path, func(fi os.FileInfo) bool {
			return !strings.HasSuffix(fi.Name(), "_test.go")
		}, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		for name, pkg := range pkgs {
			documented := false
			for _, f := range pkg.Files {
				documented = documented || f.Doc != nil
			}
			if !documented {
				t.Errorf("package %s (%s) has no doc comment", name, path)
			}
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
	"github.com/emersion/go-imap/v2":   true,
	"github.com/emersion/go-sasl":      true,
	"github.com/emersion/go-smtp":      true,
	"github.com/coreos/go-systemd/v22": true,
	"github.com/go-ldap/ldap/v3":       true,
	"github.com/pelletier/go-toml/v2":  true,
	"go.etcd.io/bbolt":                 true,
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
