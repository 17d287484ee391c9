package testhost

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// sigHalt is SIGRTMIN+3 as glibc numbers it (SIGRTMIN is 34 there), the
// signal on which systemd halts; SIGTERM would make it re-execute itself.
const sigHalt = syscall.Signal(34 + 3)

// KeepEnv names the environment variable that, set to 1, keeps each test
// host's run directory (console log, journal, stage-1 script) after it stops.
const KeepEnv = "MAILPULL_TESTHOST_KEEP"

// Stop halts the test host and removes its cgroup and run directory. It is
// called at the test's cleanup; tests call it earlier to check what a stop
// leaves behind. Calling it again returns the first result.
func (h *Host) Stop() error {
	h.stopOnce.Do(func() { h.stopErr = h.stop() })
	return h.stopErr
}

func (h *Host) stop() error {
	var errs []error
	if h.proc != nil && !h.isExited() {
		h.saveJournal() // it lives in the test host's /run
		errs = append(errs, h.halt())
	}
	if h.console != nil {
		h.console.close()
	}
	if h.cgroup != "" {
		errs = append(errs, removeCgroup(h.cgroup))
	}
	errs = append(errs, h.run.close(keep()))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop %s: %w", h.name, err)
	}
	return nil
}

// halt asks systemd to halt, and kills it (and so its whole PID namespace)
// if it is not gone in 10 s. A slow halt is logged, not an error: on a
// loaded machine, stopping thousands of units takes what it takes, and the
// kill ends them all the same.
func (h *Host) halt() error {
	h.proc.Signal(sigHalt)
	select {
	case <-h.exited:
		return nil
	case <-time.After(10 * time.Second):
	}
	h.proc.Kill()
	select {
	case <-h.exited:
		h.t.Logf("testhost: %s did not halt in 10s, killed", h.name)
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("did not die of SIGKILL in 10s")
	}
}

// cleanup stops the test host, and logs its console if the test failed.
func (h *Host) cleanup() {
	if err := h.Stop(); err != nil {
		h.t.Errorf("testhost: %v", err)
	}
	if h.t.Failed() && h.console != nil {
		h.t.Logf("testhost: console of %s:\n%s", h.name, h.console.tail(200))
	}
	if keep() {
		h.t.Logf("testhost: kept %s", h.run.path)
	}
}

// saveJournal keeps the journal in the run directory (KeepEnv) and logs it
// if the test failed.
func (h *Host) saveJournal() {
	if !h.t.Failed() && !keep() {
		return
	}
	j, err := h.Exec("journalctl", "-b", "--no-pager", "-o", "short-precise")
	if err != nil {
		j += "\n" + err.Error()
	}
	if keep() {
		os.WriteFile(h.run.file("journal.txt"), []byte(j), 0o600)
	}
	if h.t.Failed() {
		h.t.Logf("testhost: journal of %s:\n%s", h.name, j)
	}
}

func (h *Host) isExited() bool {
	select {
	case <-h.exited:
		return true
	default:
		return false
	}
}

func keep() bool { return os.Getenv(KeepEnv) == "1" }
