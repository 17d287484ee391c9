package rig

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// Local is the Dovecot mailpull delivers into: users from a passwd-file or
// from LDAP, a master user, LMTP with Pigeonhole Sieve, IMAP on TCP (plain,
// STARTTLS, implicit TLS) and on a unix socket.
type Local struct {
	IMAPAddr   string // plain IMAP, which also offers STARTTLS
	TLSAddr    string // implicit TLS
	IMAPSocket string // IMAP on a unix socket (in base_dir, so that the path stays short)
	LMTPSocket string // LMTP on a unix socket
	LMTPAddr   string // LMTP on TCP
	CA         *CA    // verifies the TLS listeners' certificate
	ConfigFile string // for doveadm -c and sievec -c

	// Separator is the hierarchy separator of the users' namespace.
	Separator string
	// Domain is the mail domain of the passwd-file users.
	Domain string

	// MasterUser logs in as anyone with MasterPassword, as
	// "user*MasterUser" or SASL PLAIN with the user as authorization id.
	MasterUser, MasterPassword string
	// MasterPasswordFile holds MasterPassword alone, no newline, mode 0600.
	MasterPasswordFile string

	// Users are the mail users, by login.
	Users map[string]LocalUser

	d      *dovecot
	users  string // passwd-file, in the default mode
	ldap   *Slapd
	outbox string // where the sendmail stand-in keeps messages
}

// LocalUser is a mail user of the local server.
type LocalUser struct {
	Password string
	Mail     string
	// Disabled users (LDAP mode) exist in the directory, but Dovecot's
	// filters exclude them: they can neither log in nor receive mail.
	Disabled bool
}

// LocalOptions changes how the local server is set up.
type LocalOptions struct {
	// LDAP, if set, is where the users come from instead of a passwd-file:
	// inetOrgPerson entries under UsersDN, login uid, excluding accounts
	// locked with pwdAccountLockedTime.
	LDAP *Slapd
	// Separator is the hierarchy separator: "/" (the default, as on
	// NethServer 8) or "." (stock Maildir++).
	Separator string
	// MasterConfig, if set, replaces the rig's own master-user settings
	// (separator, mechanisms, master passdb) with this configuration text,
	// so a test can prove that a snippet for admins really works. The test
	// then provides the passwd-file it names, and MasterUser and
	// MasterPassword for [Local.Read].
	MasterConfig               string
	MasterUser, MasterPassword string
	// Sendmail replaces sendmail_path with a stand-in that keeps what the
	// server sends (vacation replies), for [Local.Sent].
	Sendmail bool
	// Config is added verbatim at the end of the configuration, e.g. the
	// settings a document tells admins to add.
	Config string
}

// StartLocal starts the local server. In the default mode it has the users
// alice and bob (@example.org); in LDAP mode, the directory's users.
func StartLocal(t testing.TB, opts LocalOptions) *Local {
	t.Helper()
	if opts.Separator == "" {
		opts.Separator = "/"
	}
	d := newDovecot(t)
	l := &Local{
		IMAPAddr:   Addr(FreePort(t)),
		TLSAddr:    Addr(FreePort(t)),
		IMAPSocket: filepath.Join(d.baseDir, "imap"),
		LMTPSocket: filepath.Join(d.baseDir, "lmtp"),
		LMTPAddr:   Addr(FreePort(t)),
		CA:         NewCA(t, d.dir),
		ConfigFile: d.conf,
		Separator:  opts.Separator,
		Domain:     "example.org",
		Users:      make(map[string]LocalUser),
		d:          d,
		users:      d.path("users"),
		ldap:       opts.LDAP,
	}
	c := d.baseConf(t, "imap lmtp", l.Separator)
	tlsConf(c, l.CA)
	l.usersConf(t, c)
	l.masterConf(t, c, opts)
	l.listenersConf(c)
	l.deliveryConf(c)
	if opts.Sendmail {
		l.sendmailConf(t, c)
	}
	if opts.Config != "" {
		c.raw(opts.Config)
	}
	d.start(t, "local dovecot", c, l.IMAPAddr)
	return l
}

// masterConf adds the master user: a passwd-file passdb whose success only
// continues to the normal passdb, so the target must exist. It comes after
// the users' passdb, as a conf.d snippet would: Dovecot keeps master
// passdbs apart, so their place does not matter.
func (l *Local) masterConf(t testing.TB, c *conf, opts LocalOptions) {
	t.Helper()
	if opts.MasterConfig != "" {
		l.MasterUser, l.MasterPassword = opts.MasterUser, opts.MasterPassword
		c.raw(opts.MasterConfig)
		return
	}
	l.MasterUser, l.MasterPassword = "vmail", password()
	l.MasterPasswordFile = l.d.path("master.pwd")
	if err := os.WriteFile(l.MasterPasswordFile, []byte(l.MasterPassword), 0o600); err != nil {
		t.Fatalf("rig: %v", err)
	}
	masters := l.d.path("master-users")
	appendFile(t, masters, l.MasterUser+":{PLAIN}"+l.MasterPassword+"\n")
	c.set("auth_master_user_separator", "*")
	c.set("auth_mechanisms", "plain login")
	c.section("passdb", func() {
		c.set("driver", "passwd-file")
		c.set("args", masters)
		c.set("master", "yes")
		c.set("result_success", "continue")
	})
}

// usersConf adds the normal passdb and userdb, from LDAP or a passwd-file.
func (l *Local) usersConf(t testing.TB, c *conf) {
	t.Helper()
	driver, args := "passwd-file", l.users
	if l.ldap != nil {
		driver, args = "ldap", l.ldapConf(t)
	} else {
		l.AddUser(t, "alice", password())
		l.AddUser(t, "bob", password())
	}
	c.section("passdb", func() {
		c.set("driver", driver)
		c.set("args", args)
	})
	c.section("userdb", func() {
		c.set("driver", driver)
		c.set("args", args)
	})
}

// ldapConf writes dovecot-ldap.conf.ext for the directory and returns its
// path. Dovecot reads userPassword itself (no auth bind), which is what lets
// a master login check that the target exists.
func (l *Local) ldapConf(t testing.TB) string {
	t.Helper()
	s := l.ldap
	for _, u := range s.Users {
		l.Users[u.Login] = LocalUser{Password: u.Password, Mail: u.Mail, Disabled: u.Disabled}
	}
	person := "(objectClass=inetOrgPerson)(!(pwdAccountLockedTime=*))"
	lines := []string{
		"uris = " + s.URL,
		"dn = " + s.BindDN,
		"dnpass = " + s.BindPassword,
		"auth_bind = no",
		"ldap_version = 3",
		"base = " + s.UsersDN,
		"scope = subtree",
		"user_filter = (&" + person + "(uid=%Ln))",
		"pass_filter = (&" + person + "(uid=%Ln))",
		"iterate_filter = (&" + person + ")",
		"pass_attrs = uid=user,userPassword=password",
		"user_attrs = uid=user",
		"iterate_attrs = uid=user",
		// The rig's slapd stores passwords as given, without a {SCHEME}.
		"default_pass_scheme = PLAIN",
	}
	path := l.d.path("dovecot-ldap.conf.ext")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatalf("rig: %v", err)
	}
	Chown(t, path)
	return path
}

func (l *Local) listenersConf(c *conf) {
	c.section("service imap-login", func() {
		c.section("inet_listener imap", func() { c.set("port", portOf(l.IMAPAddr)) })
		c.section("inet_listener imaps", func() { c.set("port", portOf(l.TLSAddr)) })
		c.section("unix_listener "+filepath.Base(l.IMAPSocket), func() { c.set("mode", "0666") })
	})
	c.section("service lmtp", func() {
		c.section("unix_listener "+filepath.Base(l.LMTPSocket), func() { c.set("mode", "0666") })
		c.section("inet_listener lmtp", func() {
			c.set("address", "127.0.0.1")
			c.set("port", portOf(l.LMTPAddr))
		})
	})
}

// deliveryConf sets up LMTP with Sieve: each user's scripts in ~/sieve, the
// active one linked from ~/.dovecot.sieve; fileinto creates missing folders.
func (l *Local) deliveryConf(c *conf) {
	c.set("postmaster_address", "postmaster@"+l.Domain)
	c.set("lda_mailbox_autocreate", "yes")
	c.set("lda_mailbox_autosubscribe", "yes")
	c.section("protocol lmtp", func() { c.set("mail_plugins", "$mail_plugins sieve") })
	c.section("plugin", func() { c.set("sieve", "file:~/sieve;active=~/.dovecot.sieve") })
}

// AddUser adds a user to the running server: to the passwd-file, or in
// LDAP mode to the directory (mail login@example.org).
func (l *Local) AddUser(t testing.TB, login, password string) {
	t.Helper()
	if l.ldap != nil {
		u := l.ldap.AddUser(t, LDAPUser{Login: login, Password: password})
		l.Users[login] = LocalUser{Password: u.Password, Mail: u.Mail}
		return
	}
	appendFile(t, l.users, passwdLine(login, password))
	waitForLookup()
	l.Users[login] = LocalUser{Password: password, Mail: login + "@" + l.Domain}
}

// waitForLookup waits for the next second: Dovecot looks at its passwd-file at
// most once a second, so a user added in the second of an earlier lookup
// stays unknown until the next second's lookup.
func waitForLookup() {
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
}

// Dial returns a client logged in as user through the master user, over
// plain IMAP on loopback, closed at cleanup. It uses SASL PLAIN with user
// as authorization identity, which works whatever the separator.
func (l *Local) Dial(t testing.TB, user string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(l.IMAPAddr, nil)
	if err != nil {
		t.Fatalf("rig: local: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Authenticate(sasl.NewPlainClient(user, l.MasterUser, l.MasterPassword)); err != nil {
		t.Fatalf("rig: local: login as %s through %s: %v", user, l.MasterUser, err)
	}
	return c
}

// Read returns every message of user, by folder.
func (l *Local) Read(t testing.TB, user string) map[string][]Message {
	t.Helper()
	c := l.Dial(t, user)
	defer func() { _ = c.Logout().Wait() }()
	return ReadAll(t, c)
}

// Home is the user's home directory (it may not exist before the first
// login or delivery).
func (l *Local) Home(user string) string {
	return filepath.Join(l.d.home, strings.ToLower(user))
}

// SetSieve installs script as the user's active Sieve script, after sievec
// has compiled it, so a script error fails here rather than at delivery.
func (l *Local) SetSieve(t testing.TB, user, script string) {
	t.Helper()
	home := l.Home(user)
	dir := filepath.Join(home, "sieve")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("rig: %v", err)
	}
	path := filepath.Join(dir, "mailpull.sieve")
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		t.Fatalf("rig: %v", err)
	}
	out, err := exec.Command(need(t, "sievec"), "-c", l.ConfigFile, path).CombinedOutput()
	if err != nil {
		t.Fatalf("rig: sievec: %v\n%s", err, out)
	}
	link := filepath.Join(home, ".dovecot.sieve")
	_ = os.Remove(link)
	if err := os.Symlink("sieve/mailpull.sieve", link); err != nil {
		t.Fatalf("rig: %v", err)
	}
	Chown(t, home)
}
