package units

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const shipped = "../packaging/systemd"

// systemd-analyze verify finds nothing wrong with the shipped units but
// what a build machine lacks: the installed binary and man page.
func TestShippedUnitsVerify(t *testing.T) {
	units, _ := filepath.Glob(filepath.Join(shipped, "*.service"))
	if len(units) != 2 {
		t.Fatalf("shipped units: %v", units)
	}
	out, _ := exec.Command("systemd-analyze", append([]string{"verify"}, units...)...).CombinedOutput()
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" || strings.Contains(line, "/usr/bin/mailpull is not executable") || strings.Contains(line, "man mailpull(1)") {
			continue
		}
		t.Errorf("systemd-analyze verify: %s", line)
	}
}

var exposureRe = regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)

// The sandbox of both units, as systemd-analyze security scores it (0 is
// best, 10 worst); the design asks for 2.5 or better.
func TestShippedUnitsExposure(t *testing.T) {
	for _, name := range []string{"mailpull-sync@.service", "mailpull.service"} {
		data, err := os.ReadFile(filepath.Join(shipped, name))
		if err != nil {
			t.Fatal(err)
		}
		// security wants an instance, not a template.
		file := filepath.Join(t.TempDir(), strings.Replace(name, "@.", "@a0241w.", 1))
		os.WriteFile(file, data, 0o644)
		out, err := exec.Command("systemd-analyze", "security", "--offline=true", "--no-pager", file).CombinedOutput()
		m := exposureRe.FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		score, _ := strconv.ParseFloat(m[1], 64)
		t.Logf("%s: exposure %.1f", name, score)
		if score > 2.5 {
			t.Errorf("%s: exposure %.1f, want 2.5 or better", name, score)
		}
	}
}
