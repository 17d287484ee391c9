package e2e

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailpull/mailpull/internal/rig"
	"github.com/mailpull/mailpull/internal/testhost"
	"github.com/mailpull/mailpull/units"
)

// TestPackage builds the Debian package twice, the way "make deb" does
// (.ci/deb.sh: dpkg-buildpackage, then lintian), as the tree's own version
// and as a newer one, and takes it through its life on a test host: install,
// the first run (Dovecot configured with what "mailpull dovecot-config"
// prints, a task added with its password on stdin, a run started by
// systemctl), an upgrade that keeps the tasks, the credentials and the
// ledger and restarts the daemon, a remove that keeps the configuration,
// and a purge that leaves nothing of mailpull behind.
func TestPackage(t *testing.T) {
	old, newer := buildDebs(t)
	oldDeb, newDeb := "/tmp/"+filepath.Base(old.deb), "/tmp/"+filepath.Base(newer.deb)

	w := &world{remote: rig.StartRemote(t), masterPW: masterPWd}
	w.h = testhost.Boot(t, testhost.Options{HostNetwork: true, Mask: []string{"dovecot.service", "slapd.service"}})
	for _, d := range []*deb{old, newer} {
		if err := w.h.CopyIn(d.deb, "/tmp/"+filepath.Base(d.deb)); err != nil {
			t.Fatal(err)
		}
	}
	var id string
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow() // every step builds on the ones before
		}
	}

	step("install", func(t *testing.T) {
		w.h.MustExec("dpkg", "-i", oldDeb)
		if s := w.pkgStatus(t); s != "install ok installed "+old.version {
			t.Fatalf("dpkg-query: %q", s)
		}
		if s := w.show(t, "mailpull.service", "ActiveState"); s != "active" {
			t.Fatalf("mailpull.service is %s\n%s", s, w.unitJournal("mailpull.service"))
		}
		if s, _ := w.h.Exec("systemctl", "is-enabled", "mailpull.service"); strings.TrimSpace(s) != "enabled" {
			t.Errorf("mailpull.service is %s, want enabled", strings.TrimSpace(s))
		}
		if s := w.h.MustExec("stat", "-c", "%a %U", "/etc/mailpull", "/etc/mailpull/tasks",
			"/etc/mailpull/credentials", "/etc/mailpull/mailpull.toml"); s != "700 root\n700 root\n700 root\n600 root\n" {
			t.Errorf("modes of /etc/mailpull:\n%s", s)
		}
		t.Logf("installed %s; daemon: %s", old.version, w.show(t, "mailpull.service", "StatusText"))
	})

	step("dovecot-config applied to the local Dovecot", func(t *testing.T) {
		// startDovecot writes "mailpull dovecot-config" (the packaged
		// binary's) to conf.d/99-mailpull.conf and starts Dovecot.
		w.startDovecot(t)
		w.write(t, remoteCA, string(readFile(t, w.remote.CA.CAFile)), 0o600)
		cfg := fmt.Sprintf("[dovecot]\nimap        = %q\nlmtp        = \"/run/dovecot/lmtp\"\nmaster_user = \"vmail\"\nseparator   = \"*\"\n", w.imapAddr)
		w.write(t, "/etc/mailpull/mailpull.toml", cfg, 0o600)
		w.mustMailpull(t, w.masterPW+"\n", "master-password", "--password-stdin")
		// Its drop-in of the sync template must go with the purge.
		w.mustMailpull(t, "ldap-secret\n", "ldap-password", "--password-stdin")
		w.mustMailpull(t, "", "config", "check")
		if d := w.local(t, "alice"); len(d) == 0 {
			t.Errorf("master login as alice: no folders")
		}
	})

	step("task add", func(t *testing.T) {
		w.remote.Put(t, "INBOX", corpus(20, 2000, "inbox")...)
		w.remote.Put(t, "Sent", corpus(5, 1000, "sent")...)
		id = w.addTask(t, "alice", w.remote.Addr)
		if s := w.enabled(t, id); s != "enabled" {
			t.Errorf("%s is %s, want enabled", units.TimerName(id), s)
		}
		if out := w.mustMailpull(t, "", "task", "list"); !strings.Contains(out, id) {
			t.Errorf("task list has no %s:\n%s", id, out)
		}
	})

	step("systemctl start copies the mail", func(t *testing.T) {
		w.startRun(t, id)
		if d := w.sameMail(t, "alice"); len(d) > 0 {
			t.Errorf("after the run: %s", strings.Join(d, "; "))
		}
		checkFields(t, w.lastRunLine(t, "-u", units.ServiceName(id)), map[string]string{"MAILPULL_COPIED": "25", "MAILPULL_EXIT_CODE": "0"})
	})

	kept := []string{"/etc/mailpull/mailpull.toml", "/etc/mailpull/tasks/" + id + ".toml",
		"/etc/mailpull/credentials/" + id + ".cred", "/etc/mailpull/credentials/master.cred",
		"/etc/systemd/system/" + units.TimerName(id)}

	step("upgrade keeps tasks, credentials and ledger, restarts the daemon", func(t *testing.T) {
		sums := w.h.MustExec(append([]string{"md5sum"}, kept...)...)
		ledger := w.ledger(t)
		pid, inv := w.show(t, "mailpull.service", "MainPID"), w.show(t, "mailpull.service", "InvocationID")
		w.h.MustExec("dpkg", "-i", newDeb)
		if s := w.pkgStatus(t); s != "install ok installed "+newer.version {
			t.Fatalf("dpkg-query: %q", s)
		}
		if got := w.h.MustExec(append([]string{"md5sum"}, kept...)...); got != sums {
			t.Errorf("files changed by the upgrade:\nbefore\n%safter\n%s", sums, got)
		}
		if got := w.ledger(t); got != ledger {
			t.Errorf("the ledger changed in the upgrade:\nbefore\n%safter\n%s", ledger, got)
		}
		if s := w.show(t, "mailpull.service", "ActiveState"); s != "active" {
			t.Fatalf("mailpull.service is %s after the upgrade\n%s", s, w.unitJournal("mailpull.service"))
		}
		newPID, newInv := w.show(t, "mailpull.service", "MainPID"), w.show(t, "mailpull.service", "InvocationID")
		if newPID == pid || newInv == inv {
			t.Errorf("the daemon was not restarted: MainPID %s → %s, InvocationID %s → %s", pid, newPID, inv, newInv)
		}
		if out := w.mustMailpull(t, "", "version"); !strings.Contains(out, newer.version) {
			t.Errorf("mailpull version after the upgrade: %q, want %s", out, newer.version)
		}
		if out := w.mustMailpull(t, "", "task", "list"); !strings.Contains(out, id) {
			t.Errorf("task list after the upgrade has no %s:\n%s", id, out)
		}
		if s := w.enabled(t, id); s != "enabled" {
			t.Errorf("%s is %s after the upgrade, want enabled", units.TimerName(id), s)
		}
		w.startRun(t, id)
		checkFields(t, w.lastRunLine(t, "-u", units.ServiceName(id)), map[string]string{"MAILPULL_COPIED": "0", "MAILPULL_EXIT_CODE": "0"})
		if d := w.sameMail(t, "alice"); len(d) > 0 {
			t.Errorf("after the run on the new version: %s", strings.Join(d, "; "))
		}
	})

	step("remove keeps the configuration and the tasks", func(t *testing.T) {
		w.h.MustExec("apt-get", "remove", "-y", "-q", "mailpull")
		if s := w.pkgStatus(t); s != "deinstall ok config-files "+newer.version {
			t.Fatalf("dpkg-query after remove: %q", s)
		}
		if out, err := w.h.Exec("ls", "-l", "/usr/bin/mailpull"); err == nil {
			t.Errorf("the binary is still there: %s", out)
		}
		if out, err := w.h.Exec(append([]string{"ls", "-d"}, kept...)...); err != nil {
			t.Errorf("remove took files away: %v\n%s", err, out)
		}
		if out, err := w.h.Exec("ls", "-A", "/var/lib/mailpull/"); err != nil || strings.TrimSpace(out) == "" {
			t.Errorf("remove took the ledger away: %v %s", err, out)
		}
		for _, u := range []string{"mailpull.service", units.TimerName(id)} {
			if s := w.show(t, u, "ActiveState"); s != "inactive" {
				t.Errorf("%s is %s after remove, want inactive", u, s)
			}
		}
	})

	step("purge removes everything mailpull made", func(t *testing.T) {
		w.h.MustExec("dpkg", "-P", "mailpull")
		if out, err := w.h.Exec("dpkg-query", "-W", "mailpull"); err == nil {
			t.Errorf("dpkg still knows mailpull: %s", out)
		}
		for _, p := range []string{"/etc/mailpull", "/var/lib/mailpull", "/var/lib/private/mailpull"} {
			if out, err := w.h.Exec("ls", "-d", p); err == nil {
				t.Errorf("%s is still there after purge: %s", p, out)
			}
		}
		// The Dovecot snippet in /etc/dovecot/conf.d is the admin's.
		left := w.h.MustExec("find", "/etc/systemd", "/usr/lib/systemd", "/var/lib/systemd", "/var/lib/private",
			"/var/lib/dpkg/info", "/usr/bin", "/usr/share/doc", "/usr/share/man", "-name", "*mailpull*")
		if strings.TrimSpace(left) != "" {
			t.Errorf("left after purge:\n%s", left)
		}
		// With nothing listed, list-unit-files exits 1.
		if out, _ := w.h.Exec("systemctl", "list-unit-files", "mailpull*"); !strings.Contains(out, "0 unit files listed.") {
			t.Errorf("systemctl list-unit-files 'mailpull*' after purge:\n%s", out)
		}
		if out, _ := w.h.Exec("systemctl", "list-units", "--all", "--no-legend", "mailpull*"); strings.TrimSpace(out) != "" {
			t.Errorf("units still loaded after purge:\n%s", out)
		}
	})
}

// deb is one build of the package.
type deb struct {
	version string
	deb     string // the .deb on this machine
}

// buildDebs builds the package from a copy of the working tree twice, at
// once: as the changelog says, and as a newer version (MAILPULL_DEB_VERSION).
// Both builds share the machine's Go build cache.
func buildDebs(t *testing.T) (old, newer *deb) {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	version := strings.TrimSpace(mustRun(t, root, nil, "dpkg-parsechangelog", "-S", "Version"))
	gocache := strings.TrimSpace(mustRun(t, root, nil, "go", "env", "GOCACHE"))
	old, newer = &deb{version: version}, &deb{version: version + "+pkgtest1"}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, d := range []*deb{old, newer} {
		src := filepath.Join(t.TempDir(), "src")
		copyTree(t, root, src)
		env := []string{"GOCACHE=" + gocache}
		if i == 1 {
			env = append(env, "MAILPULL_DEB_VERSION="+d.version)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			out, err := run(src, env, "sh", ".ci/deb.sh")
			if err != nil {
				errs[i] = fmt.Errorf("build of %s: %v\n%s", d.version, err, tail(out, 60))
				return
			}
			debs, _ := filepath.Glob(filepath.Join(src, "dist", "*.deb"))
			if len(debs) != 1 || !strings.Contains(filepath.Base(debs[0]), "_"+d.version+"_") {
				errs[i] = fmt.Errorf("build of %s made %v\n%s", d.version, debs, tail(out, 20))
				return
			}
			d.deb = debs[0]
			t.Logf("built %s (dpkg-buildpackage and lintian) in %v", filepath.Base(d.deb), time.Since(start).Round(time.Second))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return old, newer
}

// copyTree copies the files git knows or would know of (tracked and
// untracked, not ignored), as they are in the working tree.
func copyTree(t *testing.T, root, dst string) {
	t.Helper()
	list := mustRun(t, root, nil, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	for _, name := range strings.Split(strings.TrimRight(list, "\x00"), "\x00") {
		src := filepath.Join(root, name)
		fi, err := os.Lstat(src)
		if os.IsNotExist(err) {
			continue // deleted in the working tree
		}
		if err != nil {
			t.Fatal(err)
		}
		to := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			link, err := os.Readlink(src)
			if err == nil {
				err = os.Symlink(link, to)
			}
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := copyFile(src, to, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}

func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// run runs a command on this machine in dir with env added.
func run(dir string, env []string, args ...string) (string, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustRun(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	out, err := run(dir, env, args...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// pkgStatus is dpkg's status and version of mailpull.
func (w *world) pkgStatus(t *testing.T) string {
	t.Helper()
	out, _ := w.h.Exec("dpkg-query", "-W", "-f", "${Status} ${Version}", "mailpull")
	return strings.TrimSpace(out)
}

// ledger lists the state directory of the runs with checksums.
func (w *world) ledger(t *testing.T) string {
	t.Helper()
	out := w.h.MustExec("sh", "-c", "cd /var/lib/mailpull/ && find . -type f | sort | xargs -r md5sum")
	if strings.TrimSpace(out) == "" {
		t.Fatalf("no ledger in /var/lib/mailpull")
	}
	return out
}

// startRun starts a task's run with systemctl and waits for its end.
func (w *world) startRun(t *testing.T, id string) {
	t.Helper()
	if out, err := w.h.Exec("systemctl", "start", units.ServiceName(id)); err != nil {
		t.Fatalf("%v\n%s\n%s", err, out, w.unitJournal(units.ServiceName(id)))
	}
}
