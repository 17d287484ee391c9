package rig

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// dovecot is one Dovecot instance owned by a test. Everything it writes
// (config, sockets, state, mail, log) lives under dir, so it never meets the
// system's /etc/dovecot or /run/dovecot.
type dovecot struct {
	dir     string // the instance's root, owned by the rig account
	conf    string // its configuration file
	baseDir string // base_dir: sockets and pid file
	home    string // parent of the users' home directories
	log     string
}

func newDovecot(t testing.TB) *dovecot {
	t.Helper()
	dir := Dir(t)
	d := &dovecot{
		dir:     dir,
		conf:    filepath.Join(dir, "dovecot.conf"),
		baseDir: filepath.Join(dir, "run"),
		home:    filepath.Join(dir, "home"),
		log:     filepath.Join(dir, "dovecot.log"),
	}
	for _, sub := range []string{"state", "home"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatalf("rig: %v", err)
		}
	}
	Chown(t, dir)
	return d
}

// path names a file in the instance's directory.
func (d *dovecot) path(name string) string { return filepath.Join(d.dir, name) }

// start writes the configuration and runs Dovecot in the foreground until the
// test ends. ready is the address that answers once every listener is bound
// (the master binds them all before it starts any service).
func (d *dovecot) start(t testing.TB, name string, c *conf, ready string) {
	t.Helper()
	bin := need(t, "dovecot")
	if err := os.WriteFile(d.conf, []byte(c.String()), 0o644); err != nil {
		t.Fatalf("rig: %v", err)
	}
	cmd := exec.Command(bin, "-F", "-c", d.conf)
	// The master clears its environment anyway; an empty one keeps the
	// developer's settings out of the instance.
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	startProcess(t, name, cmd, d.log, dialReady("tcp", ready))
}

// baseConf is what every rig Dovecot shares: private paths, 127.0.0.1 only,
// the rig account for every unprivileged process, and no artificial delays.
func (d *dovecot) baseConf(t testing.TB, protocols, separator string) *conf {
	acct := SystemAccount(t)
	c := &conf{}
	c.set("base_dir", d.baseDir)
	c.set("state_dir", d.path("state"))
	// The master's stderr is the log file startProcess shows on failure.
	c.set("log_path", "/dev/stderr")
	c.set("protocols", protocols)
	c.set("listen", "127.0.0.1")
	// Dovecot refuses root for mail processes; /root is not reachable anyway.
	c.set("mail_uid", acct.Name)
	c.set("mail_gid", acct.Name)
	c.set("default_internal_user", acct.Name)
	c.set("default_login_user", acct.Name)
	c.set("mail_home", d.home+"/%Ln")
	c.set("mail_location", mailLocation(separator))
	c.set("mail_fsync", "never")
	c.set("auth_username_format", "%Ln")
	// Failed logins are part of the tests: without these, every failure
	// costs 2 s and the per-IP penalty grows to 15 s. (2.3.19 still sends
	// a failure at its next 0.5 s tick.)
	c.set("auth_failure_delay", "0")
	c.section("service anvil", func() {
		c.section("unix_listener anvil-auth-penalty", func() { c.set("mode", "0") })
	})
	c.section("namespace inbox", func() {
		c.set("inbox", "yes")
		c.set("separator", separator)
	})
	return c
}

// mailLocation picks the on-disk layout: Maildir++ stores hierarchy with
// dots, so a "/" separator gets the fs layout, where a dot in a folder name
// is just a character.
func mailLocation(separator string) string {
	if separator == "." {
		return "maildir:~/Maildir"
	}
	return "maildir:~/Maildir:LAYOUT=fs"
}

// tlsConf turns on TLS with the rig CA's server certificate.
func tlsConf(c *conf, ca *CA) {
	c.set("ssl", "yes")
	c.set("ssl_cert", "<"+ca.CertFile)
	c.set("ssl_key", "<"+ca.KeyFile)
}

// passwdLine is one passwd-file entry; the rig's passwords never contain
// the ':' that would end the field.
func passwdLine(user, password string) string {
	return user + ":{PLAIN}" + password + "::::::\n"
}

// appendFile adds text to a file the auth process reads; Dovecot re-reads a
// passwd-file when its mtime changes, so users can be added to a live server.
func appendFile(t testing.TB, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		t.Fatalf("rig: %v", err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatalf("rig: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("rig: %v", err)
	}
	Chown(t, path)
}

// password returns a fresh random password without ':' or spaces.
func password() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// conf builds a Dovecot configuration file.
type conf struct {
	b     strings.Builder
	depth int
}

func (c *conf) set(key, value string) {
	fmt.Fprintf(&c.b, "%s%s = %s\n", strings.Repeat("  ", c.depth), key, value)
}

func (c *conf) section(name string, body func()) {
	fmt.Fprintf(&c.b, "%s%s {\n", strings.Repeat("  ", c.depth), name)
	c.depth++
	body()
	c.depth--
	fmt.Fprintf(&c.b, "%s}\n", strings.Repeat("  ", c.depth))
}

// raw adds text verbatim, e.g. a snippet under test.
func (c *conf) raw(text string) {
	c.b.WriteString(text)
	if !strings.HasSuffix(text, "\n") {
		c.b.WriteString("\n")
	}
}

func (c *conf) String() string { return c.b.String() }

// portOf is the port of a host:port address, as Dovecot's listeners want it.
func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}
