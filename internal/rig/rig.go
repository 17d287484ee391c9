// Package rig starts the real servers that mailpull's tests run against: a
// "remote" Dovecot, the "local" Dovecot with a master user, LMTP and Sieve,
// and an OpenLDAP slapd. Every server is started by the test that needs it,
// listens on 127.0.0.1 on free ports, keeps its files under a temporary
// directory, and is stopped when the test ends, whether it passed or not. The
// system's own services are never touched.
//
// Dovecot refuses to run mail processes as root, so when the tests run as root
// the rig creates (once) and uses an unprivileged system user, [AccountName].
package rig

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// AccountName is the unprivileged system user that runs the rig's servers
// when the tests run as root.
const AccountName = "mailpull-rig"

// Account is the system user the servers run as.
type Account struct {
	Name     string
	UID, GID int
}

var (
	accountOnce sync.Once
	account     Account
	accountErr  error
)

// SystemAccount returns the account the servers run as: the current user, or
// [AccountName] (created if missing) when running as root.
func SystemAccount(t testing.TB) Account {
	t.Helper()
	accountOnce.Do(func() { account, accountErr = lookupAccount() })
	if accountErr != nil {
		t.Fatalf("rig: system account: %v", accountErr)
	}
	return account
}

func lookupAccount() (Account, error) {
	name := AccountName
	if os.Getuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return Account{}, err
		}
		name = u.Username
	} else if _, err := user.Lookup(name); err != nil {
		out, err := exec.Command("useradd", "--system", "--user-group", "--no-create-home",
			"--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name).CombinedOutput()
		if err != nil {
			return Account{}, fmt.Errorf("useradd %s: %v: %s", name, err, out)
		}
	}
	u, err := user.Lookup(name)
	if err != nil {
		return Account{}, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return Account{Name: name, UID: uid, GID: gid}, nil
}

// Dir returns a new directory, removed at cleanup, that the rig account owns
// and can reach (t.TempDir's parents are 0700 and owned by root).
func Dir(t testing.TB) string {
	t.Helper()
	acct := SystemAccount(t)
	dir, err := os.MkdirTemp("", "mailpull-rig-")
	if err != nil {
		t.Fatalf("rig: %v", err)
	}
	t.Cleanup(func() {
		if os.Getenv("MAILPULL_RIG_KEEP") != "" {
			t.Logf("rig: kept %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("rig: %v", err)
	}
	if err := os.Chown(dir, acct.UID, acct.GID); err != nil {
		t.Fatalf("rig: %v", err)
	}
	return dir
}

// Chown gives path (recursively) to the rig account.
func Chown(t testing.TB, path string) {
	t.Helper()
	acct := SystemAccount(t)
	err := filepath.Walk(path, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, acct.UID, acct.GID)
	})
	if err != nil {
		t.Fatalf("rig: chown %s: %v", path, err)
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago and
// that this process has not handed out before: the kernel may offer the
// same ephemeral port to two listeners opened and closed in a row, and one
// server's config then names it twice.
func FreePort(t testing.TB) int {
	t.Helper()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("rig: free port: %v", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if _, taken := handedOut.LoadOrStore(port, true); !taken {
			return port
		}
	}
}

var handedOut sync.Map

// Addr formats a 127.0.0.1 address.
func Addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// process is a server the rig started and owns.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan error
}

// startProcess starts cmd with its output in logFile, waits until ready
// succeeds, and stops the process at cleanup. On failure the log is shown.
func startProcess(t testing.TB, name string, cmd *exec.Cmd, logFile string, ready func() error) *process {
	t.Helper()
	out, err := os.Create(logFile)
	if err != nil {
		t.Fatalf("rig: %s: %v", name, err)
	}
	cmd.Stdout, cmd.Stderr, cmd.Stdin = out, out, nil
	if err := cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("rig: start %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logFile, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); out.Close() }()
	t.Cleanup(func() { p.stop(t) })
	if err := p.waitReady(ready); err != nil {
		t.Fatalf("rig: %s did not start: %v\n%s", name, err, p.tail())
	}
	return p
}

func (p *process) waitReady(ready func() error) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("exited: %v", err)
		default:
		}
		err := ready()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *process) stop(t testing.TB) {
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	if t.Failed() {
		t.Logf("rig: %s log:\n%s", p.name, p.tail())
	}
}

func (p *process) tail() string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	return string(b)
}

// dialReady reports whether something accepts TCP connections on addr.
func dialReady(network, addr string) func() error {
	return func() error {
		c, err := net.DialTimeout(network, addr, time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// need fails the test when a server binary is missing: the real-server tests
// are not optional, and make test installs what they need.
func need(t testing.TB, bin string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin"} {
			if _, err := os.Stat(filepath.Join(dir, bin)); err == nil {
				return filepath.Join(dir, bin)
			}
		}
		t.Fatalf("rig: %s not found (make test installs it: %v)", bin, errors.Unwrap(err))
	}
	return p
}
