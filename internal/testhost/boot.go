package testhost

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

//go:embed stage1.sh
var stage1 []byte

// boot prepares the run directory, cgroup and console, and starts stage 1.
// Whatever it made is undone by the returned Host's cleanup, also on error.
func boot(t testing.TB, name, base string, opts Options) (*Host, error) {
	h := &Host{t: t, name: name, hostNet: opts.HostNetwork, caps: dropCaps, exited: make(chan struct{})}
	if opts.HostNetwork {
		h.caps += ",-net_admin"
	}
	run, err := newRunDir(name)
	if err != nil {
		return nil, err
	}
	h.run = run
	t.Cleanup(h.cleanup)
	cg, err := newCgroup(name)
	if err != nil {
		return nil, err
	}
	h.cgroup = cg
	if err := os.WriteFile(run.file("cgroup"), []byte(cg+"\n"), 0o600); err != nil {
		return nil, err
	}
	if h.console, err = openConsole(run.file("console.log")); err != nil {
		return nil, err
	}
	if err := os.WriteFile(run.file("stage1.sh"), stage1, 0o700); err != nil {
		return nil, err
	}
	return h, h.start(base, opts.Mask)
}

// start runs stage 1 as PID 1 of new namespaces, born in the test host's
// cgroup (clone3 CLONE_INTO_CGROUP), so no process of ours ever sits there.
func (h *Host) start(base string, mask []string) error {
	cgfd, err := unix.Open(h.cgroup, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open cgroup: %w", err)
	}
	defer unix.Close(cgfd)
	// setpriv --pdeathsig: if the test process dies without its cleanup
	// (a timeout, a kill), the kernel kills the test host's PID 1 and with
	// it the whole PID namespace. Go's own Pdeathsig can't be used: its
	// check of getppid() fails in a new PID namespace.
	cmd := exec.Command("setpriv", "--pdeathsig", "KILL", "/bin/sh", h.run.file("stage1.sh"))
	cmd.Env = h.stage1Env(base, mask)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = h.console.slave, h.console.slave, h.console.slave
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setsid: true, Setctty: true, Ctty: 0,
		Cloneflags: h.cloneFlags(),
		// unshared after the clone, so the cgroup namespace is rooted at
		// the test host's cgroup; Go also makes every mount private.
		Unshareflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWCGROUP,
		UseCgroupFD:  true, CgroupFD: cgfd,
	}
	if err := h.startLocked(cmd); err != nil {
		return fmt.Errorf("start stage 1: %w", err)
	}
	return nil
}

func (h *Host) cloneFlags() uintptr {
	f := uintptr(syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC)
	if !h.hostNet {
		f |= syscall.CLONE_NEWNET
	}
	return f
}

func (h *Host) stage1Env(base string, mask []string) []string {
	hostNet := "0"
	if h.hostNet {
		hostNet = "1"
	}
	return []string{
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		"RUN=" + h.run.path,
		"LOWER=" + base,
		"HOSTNAME_=" + h.name,
		"HOSTNET=" + hostNet,
		"MASK=" + strings.Join(append(append([]string{}, defaultMask...), mask...), " "),
		"DROP_CAPS=" + h.caps,
		"CONSOLE=" + h.console.slave.Name(),
	}
}

// startLocked starts cmd from a goroutine that keeps its OS thread until the
// test host exits: the parent-death signal fires when the thread that forked
// the child ends, not the process.
func (h *Host) startLocked(cmd *exec.Cmd) error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		h.proc, h.pid = cmd.Process, cmd.Process.Pid
		started <- nil
		cmd.Wait()
		close(h.exited)
	}()
	return <-started
}

// waitRunning polls systemctl is-system-running until running or degraded.
func (h *Host) waitRunning(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var state string
	for time.Now().Before(deadline) {
		select {
		case <-h.exited:
			return fmt.Errorf("systemd exited during boot")
		default:
		}
		out, _ := h.Exec("systemctl", "is-system-running")
		state = strings.TrimSpace(out)
		switch state {
		case "running":
			return nil
		case "degraded":
			failed, _ := h.Exec("systemctl", "--failed", "--no-pager", "--no-legend")
			h.t.Logf("testhost: %s is degraded; failed units:\n%s", h.name, failed)
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not running after %v (state %q)", timeout, state)
}
