package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/mailpull/mailpull/internal/rig"
	"github.com/mailpull/mailpull/internal/testhost"
)

// world is a test host with mailpull installed and a local Dovecot running
// inside, the rig's remote Dovecot and slapd outside, and a throttling
// proxy in front of the remote for the runs that must take a while.
type world struct {
	h        *testhost.Host
	remote   *rig.Remote
	slapd    *rig.Slapd
	proxy    *proxy
	imapAddr string // the local Dovecot inside, on the shared loopback
	masterPW string
}

const (
	// The remote's CA, root-only with the configuration: the runs' dynamic
	// user reads it only through the task's drop-in (a credential).
	remoteCA  = "/etc/mailpull/remote-ca.pem"
	localSep  = "/"
	masterPWd = "master-e2e-Secret"
)

func newWorld(t *testing.T) *world {
	t.Helper()
	bin := buildMailpull(t)
	w := &world{remote: rig.StartRemote(t), slapd: rig.StartSlapd(t), masterPW: masterPWd}
	w.proxy = startProxy(t, w.remote.Addr)
	// The base's own Dovecot and slapd would take ports 143 and 389 of the
	// machine, whose network the test host shares: the test configures
	// Dovecot on a free port before it starts it, and slapd stays off.
	w.h = testhost.Boot(t, testhost.Options{HostNetwork: true, Mask: []string{"dovecot.service", "slapd.service"}})
	w.install(t, bin)
	w.startDovecot(t)
	w.configure(t)
	return w
}

// buildMailpull builds the binary under test.
func buildMailpull(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mailpull")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/mailpull")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// install puts the binary and the shipped units where the Debian package
// puts them.
func (w *world) install(t *testing.T, bin string) {
	t.Helper()
	if err := w.h.CopyIn(bin, "/usr/bin/mailpull"); err != nil {
		t.Fatal(err)
	}
	units, _ := filepath.Glob("../packaging/systemd/*.service")
	if len(units) != 2 {
		t.Fatalf("shipped units: %v", units)
	}
	for _, u := range units {
		data, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		w.write(t, "/lib/systemd/system/"+filepath.Base(u), string(data), 0o644)
	}
	w.h.MustExec("install", "-d", "-m", "0700", "/etc/mailpull")
	w.write(t, remoteCA, string(readFile(t, w.remote.CA.CAFile)), 0o600)
	w.h.MustExec("systemctl", "daemon-reload")
}

// startDovecot configures the Debian Dovecot inside as a local server
// with passwd-file users, the master user as "mailpull dovecot-config"
// prints it, and LMTP on its usual socket, then starts it.
func (w *world) startDovecot(t *testing.T) {
	t.Helper()
	port := rig.FreePort(t)
	w.imapAddr = rig.Addr(port)
	conf := fmt.Sprintf(`protocols = imap lmtp
listen = 127.0.0.1
mail_uid = mail
mail_gid = mail
first_valid_uid = 8
mail_home = /var/mail/home/%%Ln
mail_location = maildir:~/Maildir:LAYOUT=fs
mail_fsync = never
auth_username_format = %%Ln
auth_failure_delay = 0
ssl = no
namespace inbox {
  inbox = yes
  separator = %s
}
passdb {
  driver = passwd-file
  args = /etc/dovecot/users
}
userdb {
  driver = passwd-file
  args = /etc/dovecot/users
}
service imap-login {
  inet_listener imap {
    port = %d
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
!include /etc/dovecot/conf.d/99-mailpull.conf
`, localSep, port)
	w.write(t, "/etc/dovecot/dovecot.conf", conf, 0o644)
	var users strings.Builder
	for _, u := range []string{"alice", "bob", "carol"} {
		fmt.Fprintf(&users, "%s:{PLAIN}%s-pw::::::\n", u, u)
	}
	w.write(t, "/etc/dovecot/users", users.String(), 0o640)
	w.write(t, "/etc/dovecot/master-users", "vmail:{PLAIN}"+w.masterPW+"\n", 0o640)
	w.h.MustExec("chgrp", "dovecot", "/etc/dovecot/users", "/etc/dovecot/master-users")
	w.h.MustExec("install", "-d", "-o", "mail", "-g", "mail", "/var/mail/home")
	// The master user's settings, as mailpull prints them.
	settings := w.h.MustExec("mailpull", "dovecot-config")
	w.write(t, "/etc/dovecot/conf.d/99-mailpull.conf", settings, 0o644)
	w.h.MustExec("systemctl", "unmask", "dovecot.service")
	w.h.MustExec("systemctl", "start", "dovecot.service")
	waitFor(t, "the local Dovecot", 20*time.Second, func() (bool, string) {
		c, err := net.DialTimeout("tcp", w.imapAddr, time.Second)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	})
}

// configure writes /etc/mailpull/mailpull.toml and stores the master
// password as a credential.
func (w *world) configure(t *testing.T) {
	t.Helper()
	cfg := fmt.Sprintf(`[dovecot]
imap        = %q
lmtp        = "/run/dovecot/lmtp"
master_user = "vmail"
separator   = "*"

[ldap]
url                = %q
bind_dn            = %q
base_dn            = %q
`, w.imapAddr, w.slapd.URL, w.slapd.BindDN, w.slapd.UsersDN)
	w.write(t, "/etc/mailpull/mailpull.toml", cfg, 0o600)
	w.mustMailpull(t, w.masterPW+"\n", "master-password", "--password-stdin")
	// The daemon and the INBOX runs bind to LDAP with a credential: the
	// runs' dynamic user could not read a password file.
	w.mustMailpull(t, w.slapd.BindPassword+"\n", "ldap-password", "--password-stdin")
	for _, f := range []string{"/etc/mailpull/credentials/master.cred", "/etc/mailpull/credentials/ldap.cred",
		"/etc/systemd/system/mailpull-sync@.service.d/ldap-password.conf"} {
		if _, err := os.Stat(w.h.Root() + f); err != nil {
			t.Fatalf("after master-password and ldap-password: %v", err)
		}
	}
}

// addTask adds a task for user, pulling the remote account through addr
// (the remote itself, or the proxy), with a schedule that does not fire
// during the test, and the extra flags of task add.
func (w *world) addTask(t *testing.T, user, addr string, extra ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	args := append([]string{"task", "add", "--local-user", user, "--host", host, "--port", port,
		"--security", "starttls", "--tls-ca", remoteCA, "--user", w.remote.User, "--password-stdin",
		"--schedule", "*-12-31 03:00:00"}, extra...)
	out := w.mustMailpull(t, w.remote.Password+"\n", args...)
	id := strings.TrimSpace(out)
	if len(id) != 6 {
		t.Fatalf("task add printed %q, want an id", out)
	}
	return id
}

// mailpull runs mailpull inside as root with stdin.
func (w *world) mailpull(stdin string, args ...string) (stdout, stderr string, err error) {
	cmd := w.h.Command(append([]string{"mailpull"}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func (w *world) mustMailpull(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := w.mailpull(stdin, args...)
	if err != nil {
		t.Fatalf("mailpull %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func (w *world) write(t *testing.T, name, data string, perm os.FileMode) {
	t.Helper()
	if err := w.h.WriteFile(name, []byte(data), perm); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// local reads a user's mailbox in the local Dovecot inside, through the
// master user.
func (w *world) local(t *testing.T, user string) map[string][]rig.Message {
	t.Helper()
	c, err := imapclient.DialInsecure(w.imapAddr, nil)
	if err != nil {
		t.Fatalf("local dovecot: %v", err)
	}
	defer c.Close()
	if err := c.Authenticate(sasl.NewPlainClient(user, "vmail", w.masterPW)); err != nil {
		t.Fatalf("local dovecot: login as %s: %v", user, err)
	}
	return rig.ReadAll(t, c)
}

// sameMail reports how user's mailbox differs from the remote account:
// folder by folder, the same messages (bytes, flags, dates) in the same
// order, so that a duplicate shows.
func (w *world) sameMail(t *testing.T, user string) (diffs []string) {
	t.Helper()
	remote, local := w.remote.Read(t), w.local(t, user)
	for name, msgs := range remote {
		lname := strings.ReplaceAll(name, w.remote.Separator, localSep)
		if !rig.EqualMessages(msgs, local[lname]) {
			diffs = append(diffs, fmt.Sprintf("folder %q: remote %d messages, local %d, or they differ", name, len(msgs), len(local[lname])))
		}
	}
	// A parent folder that the remote lists as \Noselect is a plain, empty
	// folder locally.
	for name, msgs := range local {
		if _, ok := remote[strings.ReplaceAll(name, localSep, w.remote.Separator)]; !ok && len(msgs) > 0 {
			diffs = append(diffs, fmt.Sprintf("local folder %q with %d messages is not on the remote", name, len(msgs)))
		}
	}
	return diffs
}

func count(m map[string][]rig.Message) int {
	n := 0
	for _, msgs := range m {
		n += len(msgs)
	}
	return n
}

// corpus is n messages of about size bytes each.
func corpus(n, size int, tag string) []rig.Message {
	var out []rig.Message
	for i := 1; i <= n; i++ {
		var flags []imap.Flag
		if i%3 == 0 {
			flags = []imap.Flag{imap.FlagSeen}
		}
		body := fmt.Sprintf("From: a@example.net\r\nMessage-ID: <%s.%d@example.net>\r\nSubject: %s %d\r\n\r\n%s",
			tag, i, tag, i, strings.Repeat("a line of text, 32 bytes long.\r\n", size/32))
		out = append(out, rig.Message{Flags: flags, Date: time.Date(2020, 1+time.Month(i%12), 1+i%28, 10, i%60, 0, 0, time.UTC), Body: []byte(body)})
	}
	return out
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s: %s", timeout, what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// proxy forwards TCP connections to a target on the loopback; while slow
// is set it throttles what the target sends (4 KiB every 10 ms), so that a
// run through it takes a while.
type proxy struct {
	addr string
	slow atomic.Bool
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: l.Addr().String()}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.serve(ctx, c, target)
		}
	}()
	return p
}

func (p *proxy) serve(ctx context.Context, c net.Conn, target string) {
	defer c.Close()
	s, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer s.Close()
	go func() {
		<-ctx.Done()
		c.Close()
	}()
	go func() { _, _ = io.Copy(s, c); s.Close() }()
	buf := make([]byte, 4096)
	for {
		n, err := s.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
			if p.slow.Load() {
				time.Sleep(10 * time.Millisecond)
			}
		}
		if err != nil {
			return
		}
	}
}
