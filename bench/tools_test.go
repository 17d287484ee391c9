//go:build bench

package bench

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailpull/mailpull/internal/rig"
)

// env is what every tool is pointed at: the remote (possibly through the
// delay proxy) and the local rig server.
type env struct {
	remoteAddr string // host:port the tools dial for the remote
	remote     *rig.Remote
	local      *rig.Local
	mailpull   string // the built binary
	maxOther   float64
	quietWait  time.Duration
}

// tool prepares one run for a fresh local user and returns the command
// that copies; the same command, run again, is the no-op re-run.
type tool struct {
	name    string
	prepare func(t testing.TB, e *env, user, dir string) func() *exec.Cmd
}

var tools = []tool{
	{"mailpull", prepareMailpull},
	{"mbsync", prepareMbsync},
	{"doveadm", prepareDoveadm},
}

// cleanEnv keeps the developer's settings out of the tools' runs.
func cleanEnv(home string) []string {
	return []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + home, "LANG=C.UTF-8"}
}

func writeSecret(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatalf("bench: %v", err)
	}
}

// prepareMailpull writes a configuration like a packaged install's, adds the
// task without a check (the check would be part of no tool's timing), and
// returns "mailpull sync ID", plain IMAP on loopback like the other tools.
func prepareMailpull(t testing.TB, e *env, user, dir string) func() *exec.Cmd {
	t.Helper()
	cfg := filepath.Join(dir, "mailpull.toml")
	writeSecret(t, cfg, fmt.Sprintf("state_dir = %q\ntasks_dir = %q\ncredentials_dir = %q\n[dovecot]\nimap = %q\nmaster_user = %q\nmaster_password_file = %q\n",
		filepath.Join(dir, "state"), filepath.Join(dir, "tasks"), filepath.Join(dir, "credentials"),
		e.local.IMAPAddr, e.local.MasterUser, e.local.MasterPasswordFile))
	pw := filepath.Join(dir, "remote.pw")
	writeSecret(t, pw, e.remote.Password+"\n")
	host, port, _ := net.SplitHostPort(e.remoteAddr)
	add := exec.Command(e.mailpull, "--config", cfg, "task", "add", "--no-check", "--local-user", user,
		"--host", host, "--port", port, "--security", "none", "--user", e.remote.User, "--password-file", pw)
	add.Env = cleanEnv(dir)
	out, err := add.Output()
	if err != nil {
		t.Fatalf("bench: mailpull task add: %v", err)
	}
	id := strings.TrimSpace(string(out))
	return func() *exec.Cmd {
		cmd := exec.Command(e.mailpull, "--config", cfg, "sync", id)
		cmd.Env = cleanEnv(dir)
		return cmd
	}
}

// prepareMbsync is an IMAP-to-IMAP channel, the remote as the far side and
// the local user (through the master login) as the near side: every folder
// (INBOX is not matched by "*", so it is named), created on the near side,
// pulled only, arrival dates kept. LOGIN is named because mbsync offers no
// mechanism on a connection without TLS otherwise.
func prepareMbsync(t testing.TB, e *env, user, dir string) func() *exec.Cmd {
	t.Helper()
	rhost, rport, _ := net.SplitHostPort(e.remoteAddr)
	lhost, lport, _ := net.SplitHostPort(e.local.IMAPAddr)
	state := filepath.Join(dir, "mbsync-state") + "/"
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatalf("bench: %v", err)
	}
	cfg := filepath.Join(dir, "mbsyncrc")
	writeSecret(t, cfg, fmt.Sprintf(`IMAPAccount remote
Host %s
Port %s
User %s
Pass %q
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account remote

IMAPAccount local
Host %s
Port %s
User %q
Pass %q
SSLType None
AuthMechs LOGIN

IMAPStore local
Account local

Channel mirror
Far :remote:
Near :local:
Patterns * INBOX
Create Near
Sync Pull
CopyArrivalDate yes
SyncState %s
`, rhost, rport, e.remote.User, e.remote.Password, lhost, lport, user+"*"+e.local.MasterUser, e.local.MasterPassword, state))
	return func() *exec.Cmd {
		cmd := exec.Command("mbsync", "-q", "-c", cfg, "-a")
		cmd.Env = cleanEnv(dir)
		return cmd
	}
}

// prepareDoveadm is doveadm backup -R from imapc: into the local server's
// storage, written by doveadm itself. The imapc settings go into a config
// file that includes the local server's, rather than into -o arguments, so
// the password is never on a command line.
func prepareDoveadm(t testing.TB, e *env, user, dir string) func() *exec.Cmd {
	t.Helper()
	host, port, _ := net.SplitHostPort(e.remoteAddr)
	cfg := filepath.Join(dir, "doveadm.conf")
	writeSecret(t, cfg, fmt.Sprintf(`!include %s
imapc_host = %s
imapc_port = %s
imapc_user = %s
imapc_password = %s
imapc_ssl = no
imapc_features = rfc822.size fetch-headers
mail_prefetch_count = 20
`, e.local.ConfigFile, host, port, e.remote.User, e.remote.Password))
	return func() *exec.Cmd {
		cmd := exec.Command("doveadm", "-c", cfg, "backup", "-R", "-u", user, "imapc:")
		cmd.Env = cleanEnv(dir)
		return cmd
	}
}

// version asks a tool for its version.
func (e *env) version(name string) string {
	cmd := exec.Command(name, "--version")
	switch name {
	case "mailpull":
		cmd = exec.Command(e.mailpull, "version")
	case "doveadm":
		// doveadm has no --version; it ships with Dovecot, at its version.
		cmd = exec.Command("dovecot", "--version")
	}
	out, err := cmd.Output()
	if name == "fetchmail" {
		// -V goes on to show its run control (none here) and may fail
		// for that: the release line is what counts.
		for _, line := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(line, "This is fetchmail release "); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	if err != nil {
		return "unknown: " + err.Error()
	}
	return strings.TrimSpace(string(out))
}
