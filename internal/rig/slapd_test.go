package rig

import (
	"crypto/tls"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

func TestSlapd(t *testing.T) {
	start := time.Now()
	s := StartSlapd(t)
	t.Logf("slapd ready and filled in %v", time.Since(start))

	t.Run("service reads users with passwords and locks", func(t *testing.T) {
		conn := slapdDial(t, s.URL)
		slapdBind(t, conn, s.BindDN, s.BindPassword)
		res := slapdSearch(t, conn, s.UsersDN, "(objectClass=inetOrgPerson)")
		if len(res.Entries) != len(s.Users) || len(s.Users) < 4 {
			t.Fatalf("got %d entries, want %d (>= 4)", len(res.Entries), len(s.Users))
		}
		for _, u := range s.Users {
			e := findEntry(t, res, u.DN)
			got := []string{e.GetAttributeValue("uid"), e.GetAttributeValue("mail"),
				e.GetAttributeValue("displayName"), e.GetAttributeValue("userPassword")}
			want := []string{u.Login, u.Login + "@example.org", u.DisplayName, u.Password}
			if !slices.Equal(got, want) {
				t.Errorf("%s: got %q, want %q", u.DN, got, want)
			}
			if locked := e.GetAttributeValue("pwdAccountLockedTime") == ldapLockedForever; locked != u.Disabled {
				t.Errorf("%s: locked %v, want %v", u.DN, locked, u.Disabled)
			}
		}
	})

	t.Run("memberOf selects the group member", func(t *testing.T) {
		conn := slapdDial(t, s.URL)
		slapdBind(t, conn, s.BindDN, s.BindPassword)
		res := slapdSearch(t, conn, s.BaseDN, "(memberOf="+ldap.EscapeFilter(s.Group)+")")
		var want []string
		for _, u := range s.Users {
			if u.InGroup {
				want = append(want, u.DN)
			}
		}
		if got := entryDNs(res); len(want) != 1 || !slices.Equal(got, want) {
			t.Fatalf("members %q, want %q (exactly one)", got, want)
		}
	})

	t.Run("users bind, locked users cannot", func(t *testing.T) {
		for _, u := range s.Users {
			conn := slapdDial(t, s.URL)
			err := conn.Bind(u.DN, u.Password)
			if u.Disabled != (err != nil) {
				t.Errorf("bind as %s (disabled %v): %v", u.Login, u.Disabled, err)
			}
		}
	})

	// slapd answers noSuchObject rather than admit the base exists.
	t.Run("anonymous sees nothing", func(t *testing.T) {
		conn := slapdDial(t, s.URL)
		slapdSeesNothing(t, conn, s.BaseDN)
	})

	t.Run("user reads no entry", func(t *testing.T) {
		conn := slapdDial(t, s.URL)
		slapdBind(t, conn, s.Users[0].DN, s.Users[0].Password)
		slapdSeesNothing(t, conn, s.BaseDN)
	})

	t.Run("bind password file", func(t *testing.T) {
		b, err := os.ReadFile(s.BindPasswordFile)
		if err != nil || string(b) != s.BindPassword {
			t.Fatalf("password file: %q, %v", b, err)
		}
		if fi, _ := os.Stat(s.BindPasswordFile); fi.Mode().Perm() != 0o600 {
			t.Fatalf("password file mode %v", fi.Mode())
		}
	})

	t.Run("ldaps verifies against the rig CA", func(t *testing.T) {
		conn, err := ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(s.CA.TLSConfig()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		slapdBind(t, conn, s.BindDN, s.BindPassword)
		if _, err := ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(&tls.Config{ServerName: "127.0.0.1"})); err == nil {
			t.Fatal("ldaps accepted without the rig CA")
		}
	})

	t.Run("StartTLS verifies against the rig CA", func(t *testing.T) {
		conn := slapdDial(t, s.URL)
		if err := conn.StartTLS(s.CA.TLSConfig()); err != nil {
			t.Fatal(err)
		}
		slapdBind(t, conn, s.BindDN, s.BindPassword)
		if err := slapdDial(t, s.URL).StartTLS(&tls.Config{ServerName: "127.0.0.1"}); err == nil {
			t.Fatal("StartTLS accepted without the rig CA")
		}
	})

	t.Run("ldapi", func(t *testing.T) {
		conn := slapdDial(t, s.LDAPIURL)
		slapdBind(t, conn, s.BindDN, s.BindPassword)
	})
}

func TestSlapdChangeUsers(t *testing.T) {
	s := StartSlapd(t)
	s.AddUser(t, LDAPUser{Login: "erin", InGroup: true})
	s.SetDisabled(t, "alice", true)
	s.SetDisabled(t, "dave", false)
	s.DeleteUser(t, "bob")

	conn := slapdDial(t, s.URL)
	slapdBind(t, conn, s.BindDN, s.BindPassword)
	members := entryDNs(slapdSearch(t, conn, s.BaseDN, "(memberOf="+ldap.EscapeFilter(s.Group)+")"))
	locked := entryDNs(slapdSearch(t, conn, s.UsersDN, "(pwdAccountLockedTime=*)"))
	all := entryDNs(slapdSearch(t, conn, s.UsersDN, "(objectClass=inetOrgPerson)"))
	dn := func(login string) string { return "uid=" + login + "," + s.UsersDN }
	if want := []string{dn("alice"), dn("erin")}; !slices.Equal(members, want) {
		t.Errorf("members %q, want %q", members, want)
	}
	if want := []string{dn("alice")}; !slices.Equal(locked, want) {
		t.Errorf("locked %q, want %q", locked, want)
	}
	if want := []string{dn("alice"), dn("carol"), dn("dave"), dn("erin")}; !slices.Equal(all, want) || len(s.Users) != 4 {
		t.Errorf("users %q (rig has %d), want %q", all, len(s.Users), want)
	}
	if err := slapdDial(t, s.URL).Bind(dn("erin"), "erin-secret"); err != nil {
		t.Errorf("new user cannot bind: %v", err)
	}
}

func slapdDial(t *testing.T, url string) *ldap.Conn {
	t.Helper()
	conn, err := ldap.DialURL(url)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetTimeout(5 * time.Second)
	t.Cleanup(func() { conn.Close() })
	return conn
}

func slapdBind(t *testing.T, conn *ldap.Conn, dn, password string) {
	t.Helper()
	if err := conn.Bind(dn, password); err != nil {
		t.Fatalf("bind as %s: %v", dn, err)
	}
}

func slapdSearch(t *testing.T, conn *ldap.Conn, base, filter string) *ldap.SearchResult {
	t.Helper()
	req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		filter, []string{"*", "pwdAccountLockedTime", "memberOf"}, nil)
	res, err := conn.Search(req)
	if err != nil {
		t.Fatalf("search %s under %s: %v", filter, base, err)
	}
	return res
}

func slapdSeesNothing(t *testing.T, conn *ldap.Conn, base string) {
	t.Helper()
	req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", nil, nil)
	res, err := conn.Search(req)
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		t.Fatalf("search under %s: %v", base, err)
	}
	if err == nil && len(res.Entries) != 0 {
		t.Fatalf("search under %s returned %q", base, entryDNs(res))
	}
}

func findEntry(t *testing.T, res *ldap.SearchResult, dn string) *ldap.Entry {
	t.Helper()
	for _, e := range res.Entries {
		if e.DN == dn {
			return e
		}
	}
	t.Fatalf("no entry %s", dn)
	return nil
}

func entryDNs(res *ldap.SearchResult) []string {
	var dns []string
	for _, e := range res.Entries {
		dns = append(dns, e.DN)
	}
	slices.Sort(dns)
	return dns
}
