// Package testhost boots a throw-away Debian 12 machine with a real systemd
// for a test: systemd runs as PID 1 of new PID, mount, UTS, IPC, cgroup and
// network namespaces, on an overlay whose lower layer is a cached mmdebstrap
// rootfs ([BuildBase]) and whose upper layer is a tmpfs. The test host has its
// own /tmp, /run, hostname, machine-id and (by default) a network with only
// lo, so it never touches the machine's own; it is stopped when the test ends.
//
// The orchestration is Go, so that the host's lifetime is bound to the test
// process and errors carry context; the one step that must run as PID 1 of
// the new namespaces before systemd (mounting the root and pivoting into it)
// is a short embedded shell script, stage1.sh, since doing it in Go would
// need every test package's TestMain to re-execute the test binary.
//
// Tests need root, util-linux's nsenter and setpriv, and, for the first
// [BuildBase], Debian's archive through the host's apt sources. Set MAILPULL_TESTHOST_KEEP=1 to keep a test host's console log,
// journal and stage-1 script after it stops (see docs/testing.md).
package testhost

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Dir holds the cached base images and the state of running test hosts.
const Dir = "/var/tmp/mailpull-testhost"

// bootTimeout bounds the wait for systemd to reach running or degraded.
const bootTimeout = 60 * time.Second

// defaultMask are units that make no sense in a test host sharing the host's
// kernel, or would act on the host (audit, clock, modules, consoles).
var defaultMask = []string{
	"getty.target", "console-getty.service", "container-getty@.service",
	"getty@.service", "serial-getty@.service", "systemd-timesyncd.service",
	"systemd-modules-load.service", "kmod-static-nodes.service",
	"systemd-journald-audit.socket", "systemd-pstore.service",
	"systemd-firstboot.service", "systemd-networkd.service",
	"systemd-resolved.service", "networking.service", "ssh.service",
	"cron.service", "e2scrub_reap.service", "apt-daily.timer",
	"apt-daily-upgrade.timer", "dpkg-db-backup.timer", "e2scrub_all.timer",
	"fstrim.timer", "man-db.timer", "logrotate.timer",
}

// dropCaps are removed from the bounding set of the test host's systemd and
// of every command run inside: a subset of what systemd-nspawn drops.
const dropCaps = "-sys_module,-sys_time,-sys_rawio,-syslog,-wake_alarm,-block_suspend," +
	"-sys_pacct,-mac_admin,-mac_override,-audit_read,-audit_control,-sys_boot"

// Options configure a test host; the zero value is a good default.
type Options struct {
	// Name is the hostname and the run directory's name; unique per process
	// by default.
	Name string
	// Packages are added to the base image, which then gets its own cache
	// entry (dependencies of a .deb under test must be in the image: the
	// test host has no network to fetch them).
	Packages []string
	// Base is a prepared rootfs to use instead of BuildBase(Packages).
	Base string
	// HostNetwork shares the host's network namespace instead of a private
	// one with only lo; CAP_NET_ADMIN is then dropped so that nothing inside
	// can reconfigure the host's network.
	HostNetwork bool
	// Mask are more units to mask, besides the default list.
	Mask []string
}

// Host is a running test host.
type Host struct {
	t       testing.TB
	name    string
	run     *runDir
	cgroup  string
	pid     int
	caps    string
	hostNet bool
	proc    *os.Process
	exited  chan struct{}
	console *console

	stopOnce sync.Once
	stopErr  error
}

var (
	nameRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,40}$`)
	unitRE  = regexp.MustCompile(`^[-A-Za-z0-9@._:\\]+$`) // backslash: systemd escapes
	counter atomic.Int64
)

// Boot starts a test host and waits until systemd says running or degraded.
// It is stopped at the test's cleanup; if the test failed, its journal and
// console are logged first.
func Boot(t testing.TB, opts Options) *Host {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("testhost: needs root (namespaces, mounts, cgroups); run the tests as root")
	}
	base := opts.Base
	if base == "" {
		base = BuildBase(t, opts.Packages...)
	}
	name := opts.Name
	if name == "" {
		name = fmt.Sprintf("th-%d-%d", os.Getpid(), counter.Add(1))
	}
	if err := checkOptions(name, base, opts.Mask); err != nil {
		t.Fatalf("testhost: %v", err)
	}
	start := time.Now()
	h, err := boot(t, name, base, opts)
	if err != nil {
		t.Fatalf("testhost: boot %s: %v", name, err)
	}
	if err := h.waitRunning(bootTimeout); err != nil {
		t.Fatalf("testhost: boot %s: %v\nconsole:\n%s", name, err, h.console.tail(60))
	}
	t.Logf("testhost: %s up in %v (pid %d)", name, time.Since(start).Round(time.Millisecond), h.pid)
	return h
}

// checkOptions refuses what stage 1 could not use safely: the name becomes a
// hostname and a path, the base an overlay option, unit names paths.
func checkOptions(name, base string, mask []string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("bad name %q: want %s", name, nameRE)
	}
	if !filepath.IsAbs(base) || strings.ContainsAny(base, ",:\n") {
		return fmt.Errorf("bad base %q: want an absolute path without ',' or ':'", base)
	}
	for _, u := range mask {
		if !unitRE.MatchString(u) {
			return fmt.Errorf("bad unit name to mask %q", u)
		}
	}
	return nil
}

// Name is the test host's name and hostname.
func (h *Host) Name() string { return h.name }

// PID is the host-side PID of the test host's systemd (PID 1 inside).
func (h *Host) PID() int { return h.pid }

// Root is the host path of the test host's root directory, for reading files
// inside. Absolute symlinks inside resolve against the host's root through
// it, so write with [Host.CopyIn] or [Host.WriteFile] instead.
func (h *Host) Root() string { return fmt.Sprintf("/proc/%d/root", h.pid) }
