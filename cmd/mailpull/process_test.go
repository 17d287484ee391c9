package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"testing"
)

// asMainEnv makes the test binary run mailpull's main instead of the tests.
// The crash and fault tests need a real process (kill -9 cannot be done to
// a goroutine); re-running the test binary gives one built from exactly the
// code under test, with the same build flags (-race, -cover), and needs no
// toolchain or build step at test time.
const asMainEnv = "MAILPULL_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// process is mailpull running as a child process.
type process struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	code           int
}

// startMailpull starts mailpull with args; it is killed at cleanup if still
// running.
func startMailpull(t *testing.T, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(os.Args[0], args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), asMainEnv+"=1")
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start mailpull: %v", err)
	}
	go func() {
		err := p.cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee) && ee.Exited():
			p.code = ee.ExitCode()
		default:
			p.code = -1 // killed by a signal
		}
		close(p.done)
	}()
	t.Cleanup(p.kill)
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// wait returns the exit code once the process has ended.
func (p *process) wait() int {
	<-p.done
	return p.code
}

// mailpullRun runs mailpull to its end and returns its exit code and output.
func mailpullRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := startMailpull(t, args...)
	code = p.wait()
	return code, p.stdout.String(), p.stderr.String()
}
