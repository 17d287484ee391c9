package testhost

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestHost boots one test host and checks, on it, what the end-to-end tests
// rely on, then that stopping it leaves nothing behind on the machine.
func TestHost(t *testing.T) {
	before := snapshotHost(t)
	h := Boot(t, Options{})

	t.Run("identity", func(t *testing.T) { checkIdentity(t, h, before) })
	t.Run("exec", func(t *testing.T) { checkExec(t, h) })
	t.Run("kernel settings read-only", func(t *testing.T) { checkReadOnlyKernel(t, h) })
	t.Run("unit and journal", func(t *testing.T) { checkUnit(t, h) })
	t.Run("transient unit", func(t *testing.T) { checkTransient(t, h) })
	t.Run("timer", func(t *testing.T) { checkTimer(t, h) })
	t.Run("go-systemd over D-Bus", func(t *testing.T) { checkDBus(t, h) })
	t.Run("dovecot", func(t *testing.T) { checkDovecot(t, h) })
	t.Run("slapd", func(t *testing.T) { checkSlapd(t, h) })
	t.Run("copy in", func(t *testing.T) { checkCopyIn(t, h) })
	t.Run("tmp is private", func(t *testing.T) { checkPrivateTmp(t, h, before) })

	start := time.Now()
	if err := h.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped in %v", time.Since(start).Round(time.Millisecond))
	checkNothingLeft(t, h, before)
}

// TestHostNetwork shares the host's network: nothing inside may then hold
// CAP_NET_ADMIN, which would let it reconfigure the host's interfaces.
func TestHostNetwork(t *testing.T) {
	// The base's Dovecot and slapd would take the host's ports 143 and 389.
	h := Boot(t, Options{HostNetwork: true, Mask: []string{"dovecot.service", "slapd.service"}})
	if out := h.MustExec("ip", "-o", "link"); strings.Count(out, "\n") < 2 {
		t.Errorf("want the host's interfaces, got\n%s", out)
	}
	// systemd (PID 1 inside) and a command run inside.
	for _, status := range []string{"/proc/1/status", "/proc/self/status"} {
		out := h.MustExec("grep", "^CapBnd:", status)
		bnd, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(out, "CapBnd:")), 16, 64)
		if err != nil || bnd&(1<<12) != 0 { // 12 is CAP_NET_ADMIN
			t.Errorf("%s: want no CAP_NET_ADMIN in the bounding set: %q %v", status, out, err)
		}
	}
}

// hostState is what a test host must never change on the machine.
type hostState struct {
	marker    string // a file in the host's /tmp, old enough for tmpfiles to clean
	machineID []byte
	hostname  string
}

func snapshotHost(t *testing.T) hostState {
	f, err := os.CreateTemp("/tmp", "testhost-marker-")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	t.Cleanup(func() { os.Remove(f.Name()) })
	old := time.Now().Add(-60 * 24 * time.Hour)
	if err := os.Chtimes(f.Name(), old, old); err != nil {
		t.Fatal(err)
	}
	id, _ := os.ReadFile("/etc/machine-id")
	name, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return hostState{marker: f.Name(), machineID: id, hostname: name}
}

func checkIdentity(t *testing.T, h *Host, before hostState) {
	if got := strings.TrimSpace(h.MustExec("hostname")); got != h.Name() {
		t.Errorf("hostname inside = %q, want %q", got, h.Name())
	}
	inside := h.MustExec("cat", "/etc/machine-id")
	if len(strings.TrimSpace(inside)) != 32 || inside == string(before.machineID) {
		t.Errorf("machine-id inside %q: want a fresh one", inside)
	}
	if v := strings.TrimSpace(h.MustExec("systemd-detect-virt", "--container")); v != "container-other" {
		t.Errorf("systemd-detect-virt = %q, want container-other", v)
	}
	if out, _ := h.Exec("ip", "-o", "link"); strings.Count(out, "\n") != 1 || !strings.Contains(out, "lo:") {
		t.Errorf("network inside: want only lo, got\n%s", out)
	}
}

// checkExec checks that a command inside keeps the reduced bounding set, and
// logs what a command costs.
func checkExec(t *testing.T, h *Host) {
	start := time.Now()
	for range 10 {
		h.MustExec("true")
	}
	t.Logf("exec: %v per command", (time.Since(start) / 10).Round(time.Millisecond))
	out := h.MustExec("setpriv", "--dump")
	if strings.Contains(out, "sys_module") || strings.Contains(out, "sys_time") {
		t.Errorf("a command inside may load modules or set the clock:\n%s", out)
	}
}

// checkReadOnlyKernel writes kernel settings' own values back, which must
// fail: the kernel is the host's. (Were they writable, nothing would change.)
func checkReadOnlyKernel(t *testing.T, h *Host) {
	for _, knob := range []string{"/proc/sys/kernel/printk_ratelimit", "/sys/kernel/mm/ksm/run"} {
		if out, err := h.Exec("sh", "-c", "v=$(cat "+knob+") && echo $v > "+knob); err == nil {
			t.Errorf("%s is writable inside:\n%s", knob, out)
		}
	}
}

func checkUnit(t *testing.T, h *Host) {
	unit := "[Unit]\nDescription=testhost hello\n\n[Service]\nType=oneshot\nExecStart=/bin/echo hello from %N\n"
	if err := h.WriteFile("/etc/systemd/system/hello.service", []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	h.MustExec("systemctl", "daemon-reload")
	h.MustExec("systemctl", "start", "hello.service")
	waitJournal(t, h, "hello.service", "hello from hello")
}

func checkTransient(t *testing.T, h *Host) {
	h.MustExec("systemd-run", "--wait", "--quiet", "--unit=transient-hello", "/bin/echo", "transient says hi")
	waitJournal(t, h, "transient-hello.service", "transient says hi")
}

func checkTimer(t *testing.T, h *Host) {
	timer := "[Timer]\nOnActiveSec=1h\nUnit=hello.service\n"
	if err := h.WriteFile("/etc/systemd/system/hello.timer", []byte(timer), 0o644); err != nil {
		t.Fatal(err)
	}
	h.MustExec("systemctl", "daemon-reload")
	h.MustExec("systemctl", "start", "hello.timer")
	if out := h.MustExec("systemctl", "list-timers", "--no-pager"); !strings.Contains(out, "hello.timer") {
		t.Errorf("list-timers has no hello.timer:\n%s", out)
	}
}

func checkDBus(t *testing.T, h *Host) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := h.SystemBus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	units, err := conn.ListUnitsByPatternsContext(ctx, nil, []string{"hello.*", "dbus.service"})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, u := range units {
		names[u.Name] = u.ActiveState
	}
	if names["dbus.service"] != "active" || names["hello.timer"] != "active" {
		t.Errorf("units over D-Bus: %v; want dbus.service and hello.timer active", names)
	}
}

func checkDovecot(t *testing.T, h *Host) {
	h.MustExec("systemctl", "start", "dovecot.service")
	var line string
	for i := 0; i < 50 && !strings.HasPrefix(line, "* OK"); i++ {
		line = imapGreeting(h)
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.HasPrefix(line, "* OK") || !strings.Contains(line, "Dovecot") {
		t.Fatalf("IMAP greeting through Dial: %q", line)
	}
}

// imapGreeting connects through Dial, inside the test host's network.
func imapGreeting(h *Host) string {
	conn, err := h.Dial("tcp", "127.0.0.1:143")
	if err != nil {
		return err.Error()
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(conn).ReadString('\n')
	return line
}

func checkSlapd(t *testing.T, h *Host) {
	h.MustExec("systemctl", "start", "slapd.service")
	out := h.MustExec("ldapsearch", "-x", "-H", "ldap://127.0.0.1", "-b", "dc=example,dc=org", "-LLL", "dn")
	if !strings.Contains(out, "dn: dc=example,dc=org") {
		t.Errorf("ldapsearch:\n%s", out)
	}
}

func checkCopyIn(t *testing.T, h *Host) {
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "sub", "f"), []byte("payload"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := h.CopyIn(src, "/opt/copied"); err != nil {
		t.Fatal(err)
	}
	if out := h.MustExec("stat", "-c", "%a %s", "/opt/copied/sub/f"); strings.TrimSpace(out) != "640 7" {
		t.Errorf("copied file: %q, want mode 640 and 7 bytes", out)
	}
	if got, err := os.ReadFile(h.Root() + "/opt/copied/sub/f"); string(got) != "payload" {
		t.Errorf("through Root: %q, %v", got, err)
	}
}

// checkPrivateTmp cleans /tmp inside as hard as systemd can: the host's
// old marker must survive, and a file made inside must not appear outside.
func checkPrivateTmp(t *testing.T, h *Host, before hostState) {
	h.MustExec("touch", "/tmp/made-inside-"+h.Name())
	h.Exec("systemd-tmpfiles", "--clean", "--remove")
	if _, err := os.Stat(before.marker); err != nil {
		t.Errorf("host /tmp marker: %v", err)
	}
	if _, err := os.Stat("/tmp/made-inside-" + h.Name()); err == nil {
		t.Errorf("a file made in the test host's /tmp appeared in the host's")
	}
}

func checkNothingLeft(t *testing.T, h *Host, before hostState) {
	if _, err := os.Stat(before.marker); err != nil {
		t.Errorf("host /tmp marker: %v", err)
	}
	if id, _ := os.ReadFile("/etc/machine-id"); string(id) != string(before.machineID) {
		t.Errorf("host machine-id changed: %q -> %q", before.machineID, id)
	}
	if name, _ := os.Hostname(); name != before.hostname {
		t.Errorf("host hostname changed: %q -> %q", before.hostname, name)
	}
	if _, err := os.Stat(h.cgroup); err == nil {
		t.Errorf("cgroup %s left", h.cgroup)
	}
	if _, err := os.Stat(h.run.path); err == nil && !keep() {
		t.Errorf("run directory %s left", h.run.path)
	}
	if err := syscall.Kill(h.PID(), 0); err == nil {
		t.Errorf("process %d still there", h.PID())
	}
	checkNoMounts(t)
	checkNoProcesses(t, h.Name())
}

func checkNoMounts(t *testing.T) {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mi), "testhost") {
		t.Errorf("testhost mounts on the host:\n%s", mi)
	}
}

// checkNoProcesses looks for any process still in the test host's cgroup.
func checkNoProcesses(t *testing.T, name string) {
	cgs, _ := filepath.Glob("/proc/[0-9]*/cgroup")
	for _, f := range cgs {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), "/testhost."+name) {
			t.Errorf("process %s is still in testhost.%s", filepath.Base(filepath.Dir(f)), name)
		}
	}
}

func waitJournal(t *testing.T, h *Host, unit, want string) {
	t.Helper()
	var out string
	for range 50 {
		out, _ = h.Exec("journalctl", "-u", unit, "--no-pager", "-o", "cat")
		if strings.Contains(out, want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("journal of %s has no %q:\n%s", unit, want, out)
}

const helperEnv = "MAILPULL_TESTHOST_HELPER"

// TestKilledTestBinary kills a test binary that has a test host running,
// with no chance to clean up: the test host must die with it, and the next
// sweep must remove its cgroup and run directory. In the child process (the
// helper environment variable set) it boots, reports and waits to be killed.
func TestKilledTestBinary(t *testing.T) {
	if os.Getenv(helperEnv) == "1" {
		bootAndHang(t)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledTestBinary$")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid, cg, run, ok := readHelper(out)
	if !ok {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the helper test binary did not report its test host:\n%s", stderr.String())
	}
	cmd.Process.Kill()
	cmd.Wait()
	waitGone(t, pid)
	unlock, err := lockFile(filepath.Join(Dir, "runs.lock"), unix.LOCK_EX)
	if err != nil {
		t.Fatal(err)
	}
	sweepStale()
	unlock()
	for _, p := range []string{cg, run} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s left after the sweep", p)
		}
	}
}

// bootAndHang is the helper: it reports its test host and waits to be killed.
func bootAndHang(t *testing.T) {
	h := Boot(t, Options{})
	os.Stdout.WriteString("HELPER " + strconv.Itoa(h.PID()) + " " + h.cgroup + " " + h.run.path + "\n")
	select {}
}

// readHelper reads the helper's "HELPER pid cgroup rundir" line.
func readHelper(out io.Reader) (pid int, cg, run string, ok bool) {
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 4 && f[0] == "HELPER" {
			pid, err := strconv.Atoi(f[1])
			return pid, f[2], f[3], err == nil
		}
	}
	return 0, "", "", false
}

// waitGone waits for the test host's PID 1 to be gone (or a zombie).
func waitGone(t *testing.T, pid int) {
	for range 100 {
		st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(st), ") Z ") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("test host PID %d outlived its killed test binary", pid)
}
