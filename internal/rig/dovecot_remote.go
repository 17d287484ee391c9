package rig

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"
)

// Remote is a Dovecot playing the external provider mailpull pulls from.
type Remote struct {
	Addr      string // plain IMAP, which also offers STARTTLS
	TLSAddr   string // implicit TLS
	User      string // the test account
	Password  string
	CA        *CA    // verifies both listeners' certificate
	Separator string // hierarchy separator of the personal namespace

	users string // passwd-file
	home  string // parent of the accounts' home directories
}

// RemoteOptions changes how the remote server looks.
type RemoteOptions struct {
	// Separator is the hierarchy separator: "." (the default, stock
	// Dovecot and many providers) or "/" (Gmail and others).
	Separator string
}

// StartRemote starts a remote server with one account, [Remote.User].
func StartRemote(t testing.TB) *Remote {
	t.Helper()
	return StartRemoteWith(t, RemoteOptions{})
}

// StartRemoteWith starts a remote server shaped by opts.
func StartRemoteWith(t testing.TB, opts RemoteOptions) *Remote {
	t.Helper()
	if opts.Separator == "" {
		opts.Separator = "."
	}
	d := newDovecot(t)
	r := &Remote{
		Addr:      Addr(FreePort(t)),
		TLSAddr:   Addr(FreePort(t)),
		User:      "remote",
		Password:  password(),
		CA:        NewCA(t, d.dir),
		Separator: opts.Separator,
		users:     d.path("users"),
		home:      d.home,
	}
	appendFile(t, r.users, passwdLine(r.User, r.Password))
	d.start(t, "remote dovecot", r.conf(t, d), r.Addr)
	return r
}

func (r *Remote) conf(t testing.TB, d *dovecot) *conf {
	c := d.baseConf(t, "imap", r.Separator)
	tlsConf(c, r.CA)
	c.set("auth_mechanisms", "plain login")
	c.section("passdb", func() {
		c.set("driver", "passwd-file")
		c.set("args", r.users)
	})
	c.section("userdb", func() {
		c.set("driver", "passwd-file")
		c.set("args", r.users)
	})
	c.section("service imap-login", func() {
		c.section("inet_listener imap", func() { c.set("port", portOf(r.Addr)) })
		c.section("inet_listener imaps", func() { c.set("port", portOf(r.TLSAddr)) })
	})
	return c
}

// AddUser adds an account to the running server.
func (r *Remote) AddUser(t testing.TB, user, password string) {
	t.Helper()
	appendFile(t, r.users, passwdLine(user, password))
	waitForLookup()
}

// Dial returns a client logged in as [Remote.User] over plain IMAP, closed
// at cleanup.
func (r *Remote) Dial(t testing.TB) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(r.Addr, nil)
	if err != nil {
		t.Fatalf("rig: remote: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(r.User, r.Password).Wait(); err != nil {
		t.Fatalf("rig: remote: login: %v", err)
	}
	return c
}

// Put stores msgs in folder (created if missing) with their flags and
// internal dates.
func (r *Remote) Put(t testing.TB, folder string, msgs ...Message) {
	t.Helper()
	c := r.Dial(t)
	Append(t, c, folder, msgs...)
	_ = c.Logout().Wait()
}

// Maildir is the directory of a folder of the test account on disk, for
// tests that store what IMAP would refuse or rewrite (a NUL byte, an empty
// message, a size in the file name that lies). It exists once the folder
// does.
func (r *Remote) Maildir(folder string) string {
	root := filepath.Join(r.home, r.User, "Maildir")
	switch {
	case folder == "INBOX":
		return root
	case r.Separator == ".":
		return filepath.Join(root, "."+folder) // Maildir++
	}
	return filepath.Join(root, folder) // LAYOUT=fs
}

// PutFile stores body in folder's maildir as a new message named name
// (Dovecot reads ",S=" and ",W=" sizes from it), as a delivery agent would:
// written in tmp/, then moved into new/. The folder must exist.
func (r *Remote) PutFile(t testing.TB, folder, name string, body []byte) {
	t.Helper()
	dir := r.Maildir(folder)
	tmp := filepath.Join(dir, "tmp", name)
	if err := os.WriteFile(tmp, body, 0o600); err != nil {
		t.Fatalf("rig: %v", err)
	}
	Chown(t, tmp)
	if err := os.Rename(tmp, filepath.Join(dir, "new", name)); err != nil {
		t.Fatalf("rig: %v", err)
	}
}

// Read returns every message of the test account, by folder.
func (r *Remote) Read(t testing.TB) map[string][]Message {
	t.Helper()
	c := r.Dial(t)
	defer func() { _ = c.Logout().Wait() }()
	return ReadAll(t, c)
}
