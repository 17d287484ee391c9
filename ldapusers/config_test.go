package ldapusers

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

func TestADDisabled(t *testing.T) {
	tests := []struct {
		uac      string
		disabled bool
	}{
		// Enabled accounts.
		{"512", false},   // NORMAL_ACCOUNT
		{"66048", false}, // NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD
		{"544", false},   // NORMAL_ACCOUNT | PASSWD_NOTREQD
		// ACCOUNTDISABLE (0x2) set, alone or with others.
		{"514", true},
		{"66050", true},
		{"2", true},
		{"-2147483646", true}, // AD may return the 32-bit value signed
		// Values we cannot judge fail closed.
		{"", true},
		{"0x202", true},
		{"many", true},
	}
	for _, tt := range tests {
		if got := adDisabled(tt.uac); got != tt.disabled {
			t.Errorf("adDisabled(%q) = %v, want %v", tt.uac, got, tt.disabled)
		}
	}
}

func TestDisabledEntry(t *testing.T) {
	ad := Config{Schema: AD}.withDefaults()
	rfc := Config{}.withDefaults()
	status := Config{DisabledAttribute: "accountStatus", DisabledValue: "disabled"}.withDefaults()
	tests := []struct {
		name     string
		cfg      Config
		attrs    map[string][]string
		disabled bool
	}{
		{"ad enabled", ad, map[string][]string{"userAccountControl": {"512"}}, false},
		{"ad disabled", ad, map[string][]string{"userAccountControl": {"514"}}, true},
		{"ad attribute name case", ad, map[string][]string{"useraccountcontrol": {"514"}}, true},
		{"ad ignores ppolicy", ad, map[string][]string{"userAccountControl": {"512"}, "pwdAccountLockedTime": {"000001010000Z"}}, false},
		{"rfc2307 locked", rfc, map[string][]string{"pwdAccountLockedTime": {"000001010000Z"}}, true},
		{"rfc2307 unlocked", rfc, map[string][]string{"uid": {"a"}}, false},
		{"rfc2307 ignores uac", rfc, map[string][]string{"userAccountControl": {"514"}}, false},
		{"value matches without case", status, map[string][]string{"accountStatus": {"Disabled"}}, true},
		{"other value", status, map[string][]string{"accountStatus": {"active"}}, false},
		{"value absent", status, map[string][]string{}, false},
	}
	for _, tt := range tests {
		if got := tt.cfg.disabled(ldap.NewEntry("uid=a", tt.attrs)); got != tt.disabled {
			t.Errorf("%s: disabled %v, want %v", tt.name, got, tt.disabled)
		}
	}
}

func TestDefaults(t *testing.T) {
	rfc := Config{}.withDefaults()
	if rfc.Filter != "(objectClass=inetOrgPerson)" || rfc.LoginAttribute != "uid" ||
		rfc.DisabledAttribute != "pwdAccountLockedTime" || rfc.Timeout != 10*time.Second {
		t.Errorf("rfc2307 defaults: %+v", rfc)
	}
	ad := Config{Schema: AD}.withDefaults()
	if !strings.Contains(ad.Filter, "(sAMAccountType=805306368)") || ad.LoginAttribute != "sAMAccountName" ||
		ad.DisabledAttribute != "" {
		t.Errorf("ad defaults: %+v", ad)
	}
	if got := ad.filterFor(ldap.EscapeFilter("*)(x=*")); !strings.HasSuffix(got, `(sAMAccountName=\2a\29\28x=\2a))`) {
		t.Errorf("ad lookup filter %s", got)
	}
}

func TestValidate(t *testing.T) {
	good := Config{URL: "ldap://127.0.0.1", BindDN: "cn=svc,dc=x", BindPasswordFile: "/pw", BaseDN: "dc=x"}
	tests := []struct {
		name string
		edit func(*Config)
		says []string // each appears in the one error; nil: valid
	}{
		{"valid", func(*Config) {}, nil},
		{"ldaps remote", func(c *Config) { c.URL = "ldaps://dc1.example.org:636" }, nil},
		{"StartTLS remote", func(c *Config) { c.URL, c.StartTLS = "ldap://dc1.example.org", true }, nil},
		{"ldapi", func(c *Config) { c.URL = "ldapi://%2Frun%2Fslapd%2Fldapi" }, nil},
		{"anonymous", func(c *Config) { c.BindDN, c.BindPasswordFile = "", "" }, nil},
		{"anonymous remote clear text", func(c *Config) { c.URL, c.BindDN, c.BindPasswordFile = "ldap://dc1", "", "" }, nil},
		{"ad", func(c *Config) { c.Schema = AD }, nil},
		{"clear text password to a remote host", func(c *Config) { c.URL = "ldap://dc1.example.org" },
			[]string{"would send the bind password in clear"}},
		{"bad scheme", func(c *Config) { c.URL = "http://x" }, []string{"want ldap://"}},
		{"no host", func(c *Config) { c.URL = "ldap://" }, []string{"no host"}},
		{"DN in the URL", func(c *Config) { c.URL = "ldap://127.0.0.1/dc=x" }, []string{"base_dn and filter are separate keys"}},
		{"StartTLS on ldaps", func(c *Config) { c.URL, c.StartTLS = "ldaps://x", true }, []string{"starttls: only with ldap://"}},
		{"unknown schema", func(c *Config) { c.Schema = "novell" }, []string{`schema: "novell"`}},
		{"ad with disabled_attribute", func(c *Config) { c.Schema, c.DisabledAttribute = AD, "x" }, []string{"userAccountControl"}},
		{"attribute injection", func(c *Config) { c.LoginAttribute = "uid=*)(cn" }, []string{"login_attribute"}},
		{"negative timeout", func(c *Config) { c.Timeout = -1 }, []string{"timeout"}},
		{"everything wrong at once", func(c *Config) {
			c.URL, c.BaseDN, c.BindPasswordFile, c.Filter = "ftp://x", "", "", "(&(uid=a)"
		}, []string{"url", "base_dn: missing", "bind_dn and a bind password", "filter (&(uid=a)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.edit(&cfg)
			err := cfg.Validate()
			if tt.says == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want one line matching ErrConfig", err)
			}
			for _, s := range tt.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%v\ndoes not say %q", err, s)
				}
			}
		})
	}
}

func TestParseEndpoint(t *testing.T) {
	tests := []struct{ url, scheme, addr string }{
		{"ldap://127.0.0.1", "ldap", "127.0.0.1:389"},
		{"ldap://dc1.example.org:3890/", "ldap", "dc1.example.org:3890"},
		{"ldaps://[::1]", "ldaps", "[::1]:636"},
		{"ldapi://%2Frun%2Fslapd%2Fldapi", "ldapi", "/run/slapd/ldapi"},
		{"ldapi://", "ldapi", "/var/run/slapd/ldapi"},
	}
	for _, tt := range tests {
		ep, err := parseEndpoint(tt.url)
		if err != nil || ep.scheme != tt.scheme || ep.addr != tt.addr {
			t.Errorf("parseEndpoint(%q) = %+v, %v; want %s %s", tt.url, ep, err, tt.scheme, tt.addr)
		}
	}
}

func TestReadPassword(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ content, want string }{
		{"s3cret", "s3cret"},
		{"s3cret\n", "s3cret"},
		{"s3cret\r\n", "s3cret"},
		{" spaced pass \n", " spaced pass "}, // only the line ending goes
	}
	for i, tt := range tests {
		p := filepath.Join(dir, string(rune('a'+i)))
		if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := readPassword(p); got != tt.want || err != nil {
			t.Errorf("readPassword(%q) = %q, %v; want %q", tt.content, got, err, tt.want)
		}
	}
}
