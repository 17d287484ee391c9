package testhost

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BasePackages are in every base image: systemd and D-Bus, the local
// Dovecot (IMAP, LMTP, Sieve, LDAP), slapd with its tools, and what mailpull
// needs at run time (systemd-creds comes with systemd; CA certificates to
// verify remote IMAP servers).
var BasePackages = []string{
	"systemd", "systemd-sysv", "dbus", "procps", "iproute2",
	"dovecot-imapd", "dovecot-lmtpd", "dovecot-sieve", "dovecot-ldap",
	"slapd", "ldap-utils", "ca-certificates",
}

// Suite is the Debian release of the base images.
const Suite = "bookworm"

// baseRecipe changes whenever the way a base is built changes, so that no
// cache built the old way is reused.
const baseRecipe = "1"

// slapd's debconf answers: its postinst then creates the database of
// dc=example,dc=org with the admin cn=admin,dc=example,dc=org, password
// "secret".
var slapdPreseed = []string{
	"slapd slapd/domain string example.org",
	"slapd shared/organization string Example",
	"slapd slapd/password1 password secret",
	"slapd slapd/password2 password secret",
}

// BuildBase returns the directory of a Debian 12 rootfs with BasePackages
// plus extra, building it with mmdebstrap (~40 s) unless it is cached under
// Dir. Concurrent test binaries wait for one build rather than racing.
func BuildBase(t testing.TB, extra ...string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("testhost: building a base image needs root; run the tests as root")
	}
	pkgs := packageList(extra)
	dir := filepath.Join(Dir, "base-"+packagesHash(pkgs))
	if baseReady(dir) {
		return dir
	}
	start := time.Now()
	built, err := buildBase(dir, pkgs)
	if err != nil {
		t.Fatalf("testhost: base image %s: %v", dir, err)
	}
	if built {
		t.Logf("testhost: built %s in %v", dir, time.Since(start).Round(time.Second))
	}
	return dir
}

func packageList(extra []string) []string {
	pkgs := append(slices.Clone(BasePackages), extra...)
	slices.Sort(pkgs)
	return slices.Compact(pkgs)
}

func packagesHash(pkgs []string) string {
	sum := sha256.Sum256([]byte(baseRecipe + "\n" + strings.Join(pkgs, "\n")))
	return hex.EncodeToString(sum[:6])
}

// baseReady: a base is complete once it has its final name (it is built
// under a temporary one and renamed).
func baseReady(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "etc/os-release"))
	return err == nil
}

func buildBase(dir string, pkgs []string) (built bool, err error) {
	unlock, err := lockFile(filepath.Join(Dir, "build.lock"), unix.LOCK_EX)
	if err != nil {
		return false, err
	}
	defer unlock()
	if baseReady(dir) { // built by another test binary while we waited
		return false, nil
	}
	mirrors, err := hostMirrors()
	if err != nil {
		return false, err
	}
	if err := ensureMmdebstrap(); err != nil {
		return false, err
	}
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil { // left by a killed build; we hold the lock
		return false, err
	}
	if out, err := mmdebstrap(tmp, pkgs, mirrors); err != nil {
		return false, fmt.Errorf("mmdebstrap: %w\n%s", err, tail(out, 40))
	}
	return true, os.Rename(tmp, dir)
}

func mmdebstrap(dir string, pkgs, mirrors []string) (string, error) {
	preseed := "printf '%s\\n' '" + strings.Join(slapdPreseed, "' '") +
		"' | chroot \"$1\" debconf-set-selections"
	args := []string{"--variant=minbase", "--include=" + strings.Join(pkgs, ","),
		"--essential-hook=" + preseed}
	for _, o := range hostAptOptions() {
		args = append(args, "--aptopt="+o)
	}
	args = append(append(args, Suite, dir), mirrors...)
	out, err := exec.Command("mmdebstrap", args...).CombinedOutput()
	return string(out), err
}

// ensureMmdebstrap installs mmdebstrap from the host's apt sources if
// missing, refreshing the package lists only if the first try fails.
func ensureMmdebstrap() error {
	if _, err := exec.LookPath("mmdebstrap"); err == nil {
		return nil
	}
	install := []string{"install", "-y", "-q", "--no-install-recommends", "mmdebstrap"}
	if _, err := aptGet(install...); err == nil {
		return nil
	}
	if out, err := aptGet("update", "-q"); err != nil {
		return fmt.Errorf("apt-get update: %w\n%s", err, tail(out, 20))
	}
	if out, err := aptGet(install...); err != nil {
		return fmt.Errorf("install mmdebstrap: %w\n%s", err, tail(out, 20))
	}
	return nil
}

func aptGet(args ...string) (string, error) {
	// Wait for another apt or dpkg run on the machine rather than fail.
	args = append([]string{"-o", "DPkg::Lock::Timeout=300"}, args...)
	cmd := exec.Command("apt-get", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// hostAptOptions are the host's apt settings that decide whether the archive
// can be reached and trusted: proxies, and the validity checks of a snapshot.
func hostAptOptions() []string {
	out, err := exec.Command("apt-config", "dump").Output()
	if err != nil {
		return nil
	}
	var opts []string
	for _, line := range strings.Split(string(out), "\n") {
		for _, key := range []string{"Acquire::http::Proxy ", "Acquire::https::Proxy ",
			"Acquire::Check-Valid-Until ", "Acquire::Check-Date "} {
			if strings.HasPrefix(line, key) {
				opts = append(opts, line)
			}
		}
	}
	return opts
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
