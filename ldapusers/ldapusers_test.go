package ldapusers_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/mailpull/mailpull/internal/rig"
	"github.com/mailpull/mailpull/ldapusers"
)

func config(s *rig.Slapd) ldapusers.Config {
	return ldapusers.Config{
		URL:              s.URL,
		BindDN:           s.BindDN,
		BindPasswordFile: s.BindPasswordFile,
		BaseDN:           s.BaseDN,
		Timeout:          5 * time.Second,
	}
}

// want is what the rig's users should look like, for those keep selects.
func want(s *rig.Slapd, keep func(rig.LDAPUser) bool) []ldapusers.User {
	var users []ldapusers.User
	for _, u := range s.Users {
		if keep(u) {
			users = append(users, ldapusers.User{Login: u.Login, Mail: u.Mail,
				DisplayName: u.DisplayName, DN: u.DN, Disabled: u.Disabled})
		}
	}
	slices.SortFunc(users, func(a, b ldapusers.User) int { return strings.Compare(a.Login, b.Login) })
	return users
}

func TestList(t *testing.T) {
	s := rig.StartSlapd(t)
	ctx := context.Background()
	enabled := func(u rig.LDAPUser) bool { return !u.Disabled }
	tests := []struct {
		name   string
		filter string
		all    bool
		want   []ldapusers.User
	}{
		{"default filter: every enabled user", "", false, want(s, enabled)},
		{"filter without parentheses", "objectClass=inetOrgPerson", false, want(s, enabled)},
		{"group filter: the one member", "(memberOf=" + s.Group + ")", false,
			want(s, func(u rig.LDAPUser) bool { return u.InGroup })},
		{"admin filter excludes a user", "(&(objectClass=inetOrgPerson)(!(uid=bob)))", false,
			want(s, func(u rig.LDAPUser) bool { return enabled(u) && u.Login != "bob" })},
		{"ListAll: disabled too, marked", "", true, want(s, func(rig.LDAPUser) bool { return true })},
		{"filter selects nobody", "(uid=nobody)", false, nil},
	}
	if n := len(tests[0].want); n < 3 || n == len(s.Users) {
		t.Fatalf("rig has %d enabled users of %d: the test needs several, and a disabled one", n, len(s.Users))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config(s)
			cfg.Filter = tt.filter
			list := ldapusers.List
			if tt.all {
				list = ldapusers.ListAll
			}
			got, err := list(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	s := rig.StartSlapd(t)
	ctx := context.Background()
	users := want(s, func(rig.LDAPUser) bool { return true })
	byLogin := func(login string) ldapusers.User {
		i := slices.IndexFunc(users, func(u ldapusers.User) bool { return u.Login == login })
		return users[i]
	}
	tests := []struct {
		name, filter, login string
		want                ldapusers.User
		err                 error
	}{
		{"enabled user", "", "alice", byLogin("alice"), nil},
		{"login compared without case", "", "ALICE", byLogin("alice"), nil},
		{"disabled user", "", "dave", byLogin("dave"), ldapusers.ErrDisabled},
		{"unknown user", "", "zoe", ldapusers.User{}, ldapusers.ErrNotFound},
		{"empty login", "", "", ldapusers.User{}, ldapusers.ErrNotFound},
		{"user outside the filter", "(memberOf=" + s.Group + ")", "bob", ldapusers.User{}, ldapusers.ErrNotFound},
		{"user inside the filter", "(memberOf=" + s.Group + ")", "alice", byLogin("alice"), nil},
		// Filter injection: the login is a value, never filter syntax.
		{"wildcard", "", "*", ldapusers.User{}, ldapusers.ErrNotFound},
		{"injected alternative", "", "*)(uid=*", ldapusers.User{}, ldapusers.ErrNotFound},
		{"injected closing", "", "alice)(|(uid=*", ldapusers.User{}, ldapusers.ErrNotFound},
		{"prefix wildcard", "", "ali*", ldapusers.User{}, ldapusers.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config(s)
			cfg.Filter = tt.filter
			got, err := ldapusers.Lookup(ctx, cfg, tt.login)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestDirectoryChanges follows the directory as the daemon will: a user
// locked, unlocked, added, deleted, or sharing a login with another entry.
func TestDirectoryChanges(t *testing.T) {
	s := rig.StartSlapd(t)
	ctx := context.Background()
	cfg := config(s)
	s.SetDisabled(t, "alice", true)
	s.SetDisabled(t, "dave", false)
	s.AddUser(t, rig.LDAPUser{Login: "erin"})
	s.DeleteUser(t, "bob")
	admin := s.Admin(t)
	defer admin.Close()
	twin := ldap.NewAddRequest("cn=Carol Twin,"+s.GroupsDN, nil)
	twin.Attribute("objectClass", []string{"inetOrgPerson"})
	twin.Attribute("cn", []string{"Carol Twin"})
	twin.Attribute("sn", []string{"Twin"})
	twin.Attribute("uid", []string{"Carol"})
	if err := admin.Add(twin); err != nil {
		t.Fatal(err)
	}

	got, err := ldapusers.List(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	wantUsers := want(s, func(u rig.LDAPUser) bool { return !u.Disabled && u.Login != "carol" })
	if !slices.Equal(got, wantUsers) {
		t.Fatalf("got  %+v\nwant %+v", got, wantUsers)
	}
	if _, err := ldapusers.Lookup(ctx, cfg, "carol"); !errors.Is(err, ldapusers.ErrAmbiguous) {
		t.Fatalf("shared login: %v, want ErrAmbiguous", err)
	}
	if _, err := ldapusers.Lookup(ctx, cfg, "bob"); !errors.Is(err, ldapusers.ErrNotFound) {
		t.Fatalf("deleted user: %v, want ErrNotFound", err)
	}
}

// TestManyUsers crosses several pages of the paged search, then makes the
// directory cut the answer short: that must be an error, not a shorter list.
func TestManyUsers(t *testing.T) {
	s := rig.StartSlapd(t)
	cfg := config(s)
	enabled := len(want(s, func(u rig.LDAPUser) bool { return !u.Disabled }))
	addUsers(t, s, 0, 600)
	got, err := ldapusers.List(context.Background(), cfg)
	if err != nil || len(got) != 600+enabled {
		t.Fatalf("got %d users, want %d: %v", len(got), 600+enabled, err)
	}

	addUsers(t, s, 600, rig.SlapdPagedLimit-len(s.Users)+1-600)
	got, err = ldapusers.List(context.Background(), cfg)
	if !strings.HasSuffix(fmt.Sprint(err), ": size limit exceeded") || got != nil {
		t.Fatalf("past the size limit: got %d users, %v; want no list and the limit error", len(got), err)
	}
}

// addUsers adds n users u<first>… in one connection, faster than AddUser.
func addUsers(t *testing.T, s *rig.Slapd, first, n int) {
	admin := s.Admin(t)
	defer admin.Close()
	for i := first; i < first+n; i++ {
		login := "u" + strconv.Itoa(i)
		req := ldap.NewAddRequest("uid="+login+","+s.UsersDN, nil)
		req.Attribute("objectClass", []string{"inetOrgPerson"})
		req.Attribute("uid", []string{login})
		req.Attribute("cn", []string{login})
		req.Attribute("sn", []string{login})
		if err := admin.Add(req); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBind(t *testing.T) {
	s := rig.StartSlapd(t)
	ctx := context.Background()
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("password file with trailing newline", func(t *testing.T) {
		cfg := config(s)
		cfg.BindPasswordFile = file("nl", s.BindPassword+"\n")
		if _, err := ldapusers.Lookup(ctx, cfg, "alice"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		cfg := config(s)
		cfg.BindPasswordFile = file("wrong", "not-the-password\n")
		_, err := ldapusers.List(ctx, cfg)
		wantMsg := "ldap bind as " + s.BindDN + " at " + s.URL + ": invalid credentials"
		if !errors.Is(err, ldapusers.ErrAuth) || err.Error() != wantMsg {
			t.Fatalf("got %v\nwant %s (ErrAuth)", err, wantMsg)
		}
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			t.Fatalf("cause lost: %#v", err)
		}
	})

	t.Run("unknown bind DN", func(t *testing.T) {
		cfg := config(s)
		cfg.BindDN = "cn=nobody,ou=Services," + s.BaseDN
		if _, err := ldapusers.List(ctx, cfg); !errors.Is(err, ldapusers.ErrAuth) {
			t.Fatalf("got %v, want ErrAuth", err)
		}
	})

	t.Run("missing password file", func(t *testing.T) {
		cfg := config(s)
		cfg.BindPasswordFile = filepath.Join(dir, "absent")
		_, err := ldapusers.List(ctx, cfg)
		if !errors.Is(err, ldapusers.ErrConfig) || !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("got %v, want ErrConfig and ErrNotExist", err)
		}
	})

	t.Run("empty password file", func(t *testing.T) {
		cfg := config(s)
		cfg.BindPasswordFile = file("empty", "\n")
		if _, err := ldapusers.List(ctx, cfg); !errors.Is(err, ldapusers.ErrConfig) {
			t.Fatalf("got %v, want ErrConfig", err)
		}
	})

	t.Run("anonymous sees nothing", func(t *testing.T) {
		cfg := config(s)
		cfg.BindDN, cfg.BindPasswordFile = "", ""
		users, err := ldapusers.ListAll(ctx, cfg)
		if err == nil && len(users) != 0 {
			t.Fatalf("anonymous listed %v", users)
		}
	})

	t.Run("missing base DN", func(t *testing.T) {
		cfg := config(s)
		cfg.BaseDN = "ou=Nowhere," + s.BaseDN
		if _, err := ldapusers.List(ctx, cfg); !errors.Is(err, ldapusers.ErrConfig) {
			t.Fatalf("got %v, want ErrConfig", err)
		}
	})
}

func TestTLS(t *testing.T) {
	s := rig.StartSlapd(t)
	ctx := context.Background()
	other := rig.NewCA(t, t.TempDir())
	tests := []struct {
		name     string
		url      string
		startTLS bool
		caFile   string
		trusted  bool
	}{
		{"ldaps with the CA", s.LDAPSURL, false, s.CA.CAFile, true},
		{"StartTLS with the CA", s.URL, true, s.CA.CAFile, true},
		{"ldaps with system roots", s.LDAPSURL, false, "", false},
		{"StartTLS with system roots", s.URL, true, "", false},
		{"ldaps with another CA", s.LDAPSURL, false, other.CAFile, false},
		{"StartTLS with another CA", s.URL, true, other.CAFile, false},
		{"ldapi", s.LDAPIURL, false, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config(s)
			cfg.URL, cfg.StartTLS, cfg.CAFile = tt.url, tt.startTLS, tt.caFile
			got, err := ldapusers.Lookup(ctx, cfg, "alice")
			if tt.trusted {
				if err != nil || got.Login != "alice" {
					t.Fatalf("got %+v, %v", got, err)
				}
				return
			}
			if !errors.Is(err, ldapusers.ErrAuth) || !strings.Contains(err.Error(), "certificate not trusted") {
				t.Fatalf("got %v, want ErrAuth saying the certificate is not trusted", err)
			}
			t.Log(err)
		})
	}
}

// silentListener accepts TCP connections and never answers, like a hung
// directory or a firewall that lets SYN through.
func silentListener(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func TestDeadDirectory(t *testing.T) {
	const timeout = 300 * time.Millisecond
	silent := silentListener(t)
	closed := rig.Addr(rig.FreePort(t))
	tests := []struct {
		name, url string
		startTLS  bool
		says      string
	}{
		{"silent ldap", "ldap://" + silent, false, "no answer within 300ms"},
		{"silent ldaps", "ldaps://" + silent, false, "no answer within 300ms"},
		{"silent StartTLS", "ldap://" + silent, true, "no answer within 300ms"},
		{"closed port", "ldap://" + closed, false, "connection refused"},
		{"closed port ldaps", "ldaps://" + closed, false, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ldapusers.Config{URL: tt.url, StartTLS: tt.startTLS, BaseDN: "dc=example,dc=org",
				Timeout: timeout}
			start := time.Now()
			_, err := ldapusers.List(context.Background(), cfg)
			elapsed := time.Since(start)
			if !errors.Is(err, ldapusers.ErrUnavailable) || !strings.Contains(err.Error(), tt.says) ||
				!strings.Contains(err.Error(), tt.url) {
				t.Fatalf("got %v, want ErrUnavailable naming %s and saying %q", err, tt.url, tt.says)
			}
			if elapsed > timeout+time.Second {
				t.Fatalf("failed after %v, timeout %v", elapsed, timeout)
			}
			t.Logf("%v after %v", err, elapsed)
		})
	}
}

func TestContextEndsWait(t *testing.T) {
	cfg := ldapusers.Config{URL: "ldap://" + silentListener(t), BaseDN: "dc=example,dc=org",
		Timeout: time.Minute}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := ldapusers.Lookup(ctx, cfg, "alice")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("got %v after %v, want the context's deadline", err, time.Since(start))
	}
}
