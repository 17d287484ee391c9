package rig

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// Slapd is an OpenLDAP server owned by one test, with a small directory laid
// out like NethServer 8's (rfc2307 schema, inetOrgPerson users, ppolicy locks).
type Slapd struct {
	URL, LDAPSURL string // ldap://127.0.0.1:P (StartTLS too), ldaps://127.0.0.1:P2
	LDAPIURL      string // ldapi://%2F…%2Fldapi, a unix socket
	CA            *CA    // verifies the server certificate
	BaseDN        string
	UsersDN       string
	GroupsDN      string

	// BindDN is the service account: it may read every entry and attribute,
	// userPassword included, as Dovecot's passdb lookups need.
	BindDN, BindPassword string
	BindPasswordFile     string // BindPassword in a 0600 file, no newline

	// AdminDN is the rootdn, for tests that change the directory themselves.
	AdminDN, AdminPassword string

	Group string // DN of a groupOfNames; memberOf works on its members
	Users []LDAPUser
}

// LDAPUser is a person in the directory. A Disabled user carries
// pwdAccountLockedTime 000001010000Z, as NethServer 8 locks accounts; an
// InGroup user is a member of [Slapd.Group].
type LDAPUser struct {
	Login, Mail, DisplayName, Password string
	Disabled, InGroup                  bool
	DN                                 string
}

// SlapdPagedLimit is how many entries a paged search of the service account
// may return in all; slapd ends the search with sizeLimitExceeded beyond.
const SlapdPagedLimit = 1000

// ldapLockedForever is ppolicy's value for "locked until an admin unlocks".
const ldapLockedForever = "000001010000Z"

// defaultLDAPUsers are the directory's people: enabled, disabled, grouped.
var defaultLDAPUsers = []LDAPUser{
	{Login: "alice", DisplayName: "Alice Liddell", InGroup: true},
	{Login: "bob", DisplayName: "Bob Marley"},
	{Login: "carol", DisplayName: "Carol Kaye"},
	{Login: "dave", DisplayName: "Dave Ölund", Disabled: true},
}

// StartSlapd starts slapd with its configuration, database and sockets under
// a new [Dir], fills the directory, and stops it at cleanup.
func StartSlapd(t testing.TB) *Slapd {
	t.Helper()
	bin := need(t, "slapd")
	dir := Dir(t)
	s := newSlapd(t, dir)
	conf := filepath.Join(dir, "slapd.conf")
	writeSlapdFile(t, conf, s.config(dir), 0o644)
	writeSlapdFile(t, s.BindPasswordFile, s.BindPassword, 0o600)
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatalf("rig: slapd: %v", err)
	}
	Chown(t, dir)
	cmd := exec.Command(bin, append(slapdUser(t), "-f", conf, "-d", "stats",
		"-h", s.URL+"/ "+s.LDAPSURL+"/ "+s.LDAPIURL)...)
	startProcess(t, "slapd", cmd, filepath.Join(dir, "slapd.log"), func() error {
		if err := dialReady("tcp", strings.TrimPrefix(s.URL, "ldap://"))(); err != nil {
			return err
		}
		return dialReady("tcp", strings.TrimPrefix(s.LDAPSURL, "ldaps://"))()
	})
	s.fill(t)
	return s
}

func newSlapd(t testing.TB, dir string) *Slapd {
	base := "dc=example,dc=org"
	return &Slapd{
		URL:              "ldap://" + Addr(FreePort(t)),
		LDAPSURL:         "ldaps://" + Addr(FreePort(t)),
		LDAPIURL:         "ldapi://" + url.PathEscape(filepath.Join(dir, "ldapi")),
		CA:               NewCA(t, dir),
		BaseDN:           base,
		UsersDN:          "ou=People," + base,
		GroupsDN:         "ou=Groups," + base,
		BindDN:           "cn=dovecot,ou=Services," + base,
		BindPassword:     "dovecot-secret",
		BindPasswordFile: filepath.Join(dir, "bind.pwd"),
		AdminDN:          "cn=admin," + base,
		AdminPassword:    "admin-secret",
		Group:            "cn=mailusers,ou=Groups," + base,
	}
}

// slapdUser drops root privileges to the rig account, as slapd does for the
// system service with the openldap account.
func slapdUser(t testing.TB) []string {
	if os.Getuid() != 0 {
		return nil
	}
	acct := SystemAccount(t)
	g, err := user.LookupGroupId(strconv.Itoa(acct.GID))
	if err != nil {
		t.Fatalf("rig: slapd: %v", err)
	}
	return []string{"-u", acct.Name, "-g", g.Name}
}

// config is slapd.conf: the schemas NethServer 8 uses, an mdb database
// without fsync (tests need speed, not durability), and the overlays that
// give memberOf and ppolicy locks. The default policy sets pwdLockout, so a
// locked account cannot bind either. The service account may page through
// [SlapdPagedLimit] entries, so that tests can see a search cut short.
func (s *Slapd) config(dir string) string {
	svc := fmt.Sprintf("dn.exact=%q", s.BindDN)
	return strings.Join([]string{
		"include /etc/ldap/schema/core.schema",
		"include /etc/ldap/schema/cosine.schema",
		"include /etc/ldap/schema/inetorgperson.schema",
		"modulepath /usr/lib/ldap",
		"moduleload back_mdb", "moduleload memberof", "moduleload ppolicy",
		"pidfile " + filepath.Join(dir, "slapd.pid"),
		"argsfile " + filepath.Join(dir, "slapd.args"),
		"TLSCACertificateFile " + s.CA.CAFile,
		"TLSCertificateFile " + s.CA.CertFile,
		"TLSCertificateKeyFile " + s.CA.KeyFile,
		"database mdb",
		fmt.Sprintf("suffix %q", s.BaseDN),
		fmt.Sprintf("rootdn %q", s.AdminDN),
		"rootpw " + s.AdminPassword,
		"directory " + filepath.Join(dir, "db"),
		"dbnosync",
		"index objectClass,uid,mail,memberOf eq",
		"overlay memberof",
		"overlay ppolicy",
		fmt.Sprintf("ppolicy_default %q", "cn=default,ou=Policies,"+s.BaseDN),
		fmt.Sprintf("limits %s size.prtotal=%d", svc, SlapdPagedLimit),
		"access to attrs=userPassword by " + svc + " read by anonymous auth by * none",
		"access to * by " + svc + " read by * none",
		"",
	}, "\n")
}

// fill creates the tree, the service account, the policy, the group and the
// default users, through slapd so that the overlays see every change.
func (s *Slapd) fill(t testing.TB) {
	t.Helper()
	conn := s.Admin(t)
	defer conn.Close()
	svc := strings.TrimSuffix(s.BindDN, ",ou=Services,"+s.BaseDN)
	entries := []*ldap.AddRequest{
		ldapEntry(s.BaseDN, "dcObject organization", "dc", "example", "o", "Example"),
		ldapEntry(s.UsersDN, "organizationalUnit", "ou", "People"),
		ldapEntry(s.GroupsDN, "organizationalUnit", "ou", "Groups"),
		ldapEntry("ou=Services,"+s.BaseDN, "organizationalUnit", "ou", "Services"),
		ldapEntry("ou=Policies,"+s.BaseDN, "organizationalUnit", "ou", "Policies"),
		ldapEntry("cn=default,ou=Policies,"+s.BaseDN, "organizationalRole pwdPolicy",
			"cn", "default", "pwdAttribute", "userPassword", "pwdLockout", "TRUE"),
		ldapEntry(s.BindDN, "applicationProcess simpleSecurityObject",
			"cn", strings.TrimPrefix(svc, "cn="), "userPassword", s.BindPassword),
	}
	for _, req := range entries {
		if err := conn.Add(req); err != nil {
			t.Fatalf("rig: slapd: add %s: %v", req.DN, err)
		}
	}
	for _, u := range defaultLDAPUsers {
		s.AddUser(t, u)
	}
}

// Admin returns a connection bound as the rootdn; the caller closes it.
func (s *Slapd) Admin(t testing.TB) *ldap.Conn {
	t.Helper()
	conn, err := ldap.DialURL(s.URL)
	if err != nil {
		t.Fatalf("rig: slapd: %v", err)
	}
	if err := conn.Bind(s.AdminDN, s.AdminPassword); err != nil {
		conn.Close()
		t.Fatalf("rig: slapd: bind as %s: %v", s.AdminDN, err)
	}
	return conn
}

// AddUser adds u under [Slapd.UsersDN], with defaults for what is empty
// (mail login@example.org, password login-secret), puts it in the group if
// InGroup, appends it to Users and returns it with its DN.
func (s *Slapd) AddUser(t testing.TB, u LDAPUser) LDAPUser {
	t.Helper()
	u = s.userDefaults(u)
	conn := s.Admin(t)
	defer conn.Close()
	attrs := []string{"uid", u.Login, "cn", u.DisplayName, "sn", u.Login,
		"displayName", u.DisplayName, "mail", u.Mail, "userPassword", u.Password}
	if u.Disabled {
		attrs = append(attrs, "pwdAccountLockedTime", ldapLockedForever)
	}
	if err := conn.Add(ldapEntry(u.DN, "inetOrgPerson", attrs...)); err != nil {
		t.Fatalf("rig: slapd: add %s: %v", u.DN, err)
	}
	if u.InGroup {
		s.addMember(t, conn, u.DN)
	}
	s.Users = append(s.Users, u)
	return u
}

func (s *Slapd) userDefaults(u LDAPUser) LDAPUser {
	if u.Mail == "" {
		u.Mail = u.Login + "@example.org"
	}
	if u.DisplayName == "" {
		u.DisplayName = u.Login
	}
	if u.Password == "" {
		u.Password = u.Login + "-secret"
	}
	u.DN = "uid=" + ldap.EscapeDN(u.Login) + "," + s.UsersDN
	return u
}

// addMember creates the group with its first member, since groupOfNames
// cannot be empty, and adds later members to it.
func (s *Slapd) addMember(t testing.TB, conn *ldap.Conn, dn string) {
	t.Helper()
	mod := ldap.NewModifyRequest(s.Group, nil)
	mod.Add("member", []string{dn})
	err := conn.Modify(mod)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		err = conn.Add(ldapEntry(s.Group, "groupOfNames", "cn", "mailusers", "member", dn))
	}
	if err != nil {
		t.Fatalf("rig: slapd: add %s to %s: %v", dn, s.Group, err)
	}
}

// SetDisabled locks (as NethServer 8 does) or unlocks the user's account.
func (s *Slapd) SetDisabled(t testing.TB, login string, disabled bool) {
	t.Helper()
	i := s.user(t, login)
	conn := s.Admin(t)
	defer conn.Close()
	mod := ldap.NewModifyRequest(s.Users[i].DN, nil)
	if disabled {
		mod.Replace("pwdAccountLockedTime", []string{ldapLockedForever})
	} else {
		mod.Delete("pwdAccountLockedTime", nil)
	}
	if err := conn.Modify(mod); err != nil {
		t.Fatalf("rig: slapd: lock %s: %v", login, err)
	}
	s.Users[i].Disabled = disabled
}

// DeleteUser removes the user's entry (memberof drops it from the group).
func (s *Slapd) DeleteUser(t testing.TB, login string) {
	t.Helper()
	i := s.user(t, login)
	conn := s.Admin(t)
	defer conn.Close()
	if err := conn.Del(ldap.NewDelRequest(s.Users[i].DN, nil)); err != nil {
		t.Fatalf("rig: slapd: delete %s: %v", login, err)
	}
	s.Users = append(s.Users[:i], s.Users[i+1:]...)
}

func (s *Slapd) user(t testing.TB, login string) int {
	t.Helper()
	for i, u := range s.Users {
		if u.Login == login {
			return i
		}
	}
	t.Fatalf("rig: slapd: no user %q", login)
	return -1
}

// ldapEntry builds an entry from space-separated object classes and
// attribute/value pairs.
func ldapEntry(dn, classes string, pairs ...string) *ldap.AddRequest {
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", strings.Fields(classes))
	for i := 0; i+1 < len(pairs); i += 2 {
		req.Attribute(pairs[i], []string{pairs[i+1]})
	}
	return req
}

func writeSlapdFile(t testing.TB, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatalf("rig: %v", err)
	}
}
