package ldapusers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Schema is the directory's layout.
type Schema string

const (
	// RFC2307 is OpenLDAP as NethServer 8 lays it out: inetOrgPerson
	// entries, uid logins, accounts locked by ppolicy's pwdAccountLockedTime.
	RFC2307 Schema = "rfc2307"
	// AD is Samba or Active Directory: sAMAccountName logins, accounts
	// disabled by bit 0x2 of userAccountControl.
	AD Schema = "ad"
)

// Config is the [ldap] section of mailpull.toml, which the command decodes;
// the key names in error messages are those of the file.
type Config struct {
	// URL is ldap://host[:port], ldaps://host[:port] or
	// ldapi://%2Fpath%2Fto%2Fsocket. Plain ldap:// to another host than
	// loopback needs StartTLS, since the bind password would travel in clear.
	URL      string
	StartTLS bool
	// CAFile holds the PEM certificates that verify the server, instead of
	// the system's roots.
	CAFile string
	// BindDN is the service account; empty binds anonymously. Its password
	// is the content of BindPasswordFile, without the trailing newline, or
	// without a file what BindPassword returns (an encrypted credential,
	// decrypted only when a bind needs it).
	BindDN           string
	BindPasswordFile string
	BindPassword     func(context.Context) (string, error)
	BaseDN           string
	// Filter selects the users that may receive tasks, e.g. the members of
	// a group: (&(objectClass=inetOrgPerson)(memberOf=cn=mail,ou=Groups,…)).
	Filter               string
	LoginAttribute       string
	MailAttribute        string
	DisplayNameAttribute string
	Schema               Schema
	// DisabledAttribute marks a disabled account (rfc2307 only): by its
	// presence, or, when DisabledValue is set, by that value (e.g.
	// accountStatus = disabled, compared without case).
	DisabledAttribute string
	DisabledValue     string
	// Timeout bounds the connection and each request: a directory that does
	// not answer fails after it rather than stalling the daemon.
	Timeout time.Duration
}

const (
	defaultTimeout   = 10 * time.Second
	defaultADFilter  = "(&(objectClass=user)(objectClass=person)(sAMAccountType=805306368)(!(isCriticalSystemObject=TRUE)))"
	defaultRFCFilter = "(objectClass=inetOrgPerson)"
)

// withDefaults fills what the admin left empty, by schema.
func (c Config) withDefaults() Config {
	if c.Schema == "" {
		c.Schema = RFC2307
	}
	filter, login := defaultRFCFilter, "uid"
	if c.Schema == AD {
		filter, login = defaultADFilter, "sAMAccountName"
	}
	c.Filter = orDefault(strings.TrimSpace(c.Filter), filter)
	if !strings.HasPrefix(c.Filter, "(") {
		c.Filter = "(" + c.Filter + ")"
	}
	c.LoginAttribute = orDefault(c.LoginAttribute, login)
	c.MailAttribute = orDefault(c.MailAttribute, "mail")
	c.DisplayNameAttribute = orDefault(c.DisplayNameAttribute, "displayName")
	if c.Schema == RFC2307 {
		c.DisabledAttribute = orDefault(c.DisabledAttribute, "pwdAccountLockedTime")
	}
	if c.Timeout == 0 {
		c.Timeout = defaultTimeout
	}
	return c
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Validate reports every problem of the configuration at once, each error
// matching [ErrConfig]. It reads no file and opens no connection.
func (c Config) Validate() error {
	full := c.withDefaults()
	errs := []error{full.validateURL(), full.validateDNs(), full.validateSearch()}
	if c.Schema == AD && (c.DisabledAttribute != "" || c.DisabledValue != "") {
		errs = append(errs, errors.New("disabled_attribute: the ad schema uses userAccountControl"))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout: negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return &dirError{msg: "ldap config: " + strings.ReplaceAll(err.Error(), "\n", "; "), kind: ErrConfig, cause: err}
	}
	return nil
}

func (c Config) validateURL() error {
	ep, err := parseEndpoint(c.URL)
	switch {
	case err != nil:
		return err
	case c.StartTLS && ep.scheme != "ldap":
		return fmt.Errorf("starttls: only with ldap://, not %s://", ep.scheme)
	case ep.scheme == "ldap" && !c.StartTLS && c.BindDN != "" && !isLoopback(ep.host):
		return fmt.Errorf("url: ldap:// to %s would send the bind password in clear; use ldaps:// or starttls", ep.host)
	case ep.scheme == "ldapi" && c.CAFile != "":
		return errors.New("ca_file: ldapi:// uses no TLS")
	}
	return nil
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

func (c Config) validateDNs() error {
	var errs []error
	if c.BaseDN == "" {
		errs = append(errs, errors.New("base_dn: missing"))
	} else if _, err := ldap.ParseDN(c.BaseDN); err != nil {
		errs = append(errs, fmt.Errorf("base_dn: %w", err))
	}
	if _, err := ldap.ParseDN(c.BindDN); err != nil {
		errs = append(errs, fmt.Errorf("bind_dn: %w", err))
	}
	hasPassword := c.BindPasswordFile != "" || c.BindPassword != nil
	if (c.BindDN == "") != !hasPassword {
		errs = append(errs, errors.New("bind_dn and a bind password (bind_password_file or a stored credential): set both or neither"))
	}
	return errors.Join(errs...)
}

// attrName is an attribute description (RFC 4512 descr or OID, options):
// the names go into filters unescaped, so nothing else may pass.
var attrName = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)+)(;[A-Za-z0-9-]+)*$`)

func (c Config) validateSearch() error {
	var errs []error
	if c.Schema != RFC2307 && c.Schema != AD {
		errs = append(errs, fmt.Errorf("schema: %q is neither rfc2307 nor ad", c.Schema))
	}
	if _, err := ldap.CompileFilter(c.Filter); err != nil {
		var le *ldap.Error
		if errors.As(err, &le) {
			err = le.Err // go-ldap's "LDAP Result Code 201" adds nothing here
		}
		errs = append(errs, fmt.Errorf("filter %s: %s", c.Filter, strings.TrimPrefix(err.Error(), "ldap: ")))
	}
	attrs := [][2]string{{"login_attribute", c.LoginAttribute}, {"mail_attribute", c.MailAttribute},
		{"display_name_attribute", c.DisplayNameAttribute}, {"disabled_attribute", c.DisabledAttribute}}
	for _, a := range attrs {
		if a[1] != "" && !attrName.MatchString(a[1]) {
			errs = append(errs, fmt.Errorf("%s: %q is not an attribute name", a[0], a[1]))
		}
	}
	return errors.Join(errs...)
}
