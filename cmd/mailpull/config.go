package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mailpull/mailpull/internal/tomlfile"
	"github.com/mailpull/mailpull/ldapusers"
)

// defaultConfigFile is read when neither --config nor MAILPULL_CONFIG says
// otherwise.
const defaultConfigFile = "/etc/mailpull/mailpull.toml"

// Config is mailpull.toml. Every key is optional; see packaging/mailpull.toml.
type Config struct {
	StateDir       string        `toml:"state_dir"`
	TasksDir       string        `toml:"tasks_dir"`
	CredentialsDir string        `toml:"credentials_dir"`
	Dovecot        DovecotConfig `toml:"dovecot"`
	LDAP           *LDAPConfig   `toml:"ldap"`
	Systemd        SystemdConfig `toml:"systemd"`
}

// DovecotConfig is how mailpull reaches the local Dovecot.
type DovecotConfig struct {
	IMAP               string `toml:"imap"`     // host:port or a unix socket path
	Security           string `toml:"security"` // none, starttls or ssl
	CAFile             string `toml:"ca_file"`
	LMTP               string `toml:"lmtp"` // unix socket path or host:port
	MasterUser         string `toml:"master_user"`
	MasterPasswordFile string `toml:"master_password_file"`
	Separator          string `toml:"separator"`
	// Domain makes login@domain the LMTP recipient of INBOX mode when no
	// [ldap] section gives the user's mail address; empty: the login alone.
	Domain string `toml:"domain"`
}

// LDAPConfig selects the local users; without it a user is checked by a
// master login. The keys are those of ldapusers.Config; empty ones take the
// schema's defaults there.
type LDAPConfig struct {
	URL                  string `toml:"url"`
	StartTLS             bool   `toml:"starttls"`
	CAFile               string `toml:"ca_file"`
	BindDN               string `toml:"bind_dn"`
	BindPasswordFile     string `toml:"bind_password_file"`
	BaseDN               string `toml:"base_dn"`
	Filter               string `toml:"filter"`
	LoginAttribute       string `toml:"login_attribute"`
	MailAttribute        string `toml:"mail_attribute"`
	DisplayNameAttribute string `toml:"display_name_attribute"`
	Schema               string `toml:"schema"` // rfc2307 (default) or ad
	DisabledAttribute    string `toml:"disabled_attribute"`
	DisabledValue        string `toml:"disabled_value"`
	Timeout              string `toml:"timeout"` // default 10s
}

// directory is the ldapusers configuration the [ldap] section describes.
// Without bind_password_file, the bind password is the credential that
// "mailpull ldap-password" stored in credDir.
func (l *LDAPConfig) directory(credDir string) (ldapusers.Config, error) {
	c := ldapusers.Config{
		URL: l.URL, StartTLS: l.StartTLS, CAFile: l.CAFile, BindDN: l.BindDN,
		BindPasswordFile: l.BindPasswordFile, BaseDN: l.BaseDN, Filter: l.Filter,
		LoginAttribute: l.LoginAttribute, MailAttribute: l.MailAttribute,
		DisplayNameAttribute: l.DisplayNameAttribute, Schema: ldapusers.Schema(l.Schema),
		DisabledAttribute: l.DisabledAttribute, DisabledValue: l.DisabledValue, Timeout: 10 * time.Second,
	}
	if l.BindDN != "" && l.BindPasswordFile == "" {
		c.BindPassword = ldapPassword(credDir)
	}
	if l.Timeout != "" {
		d, err := time.ParseDuration(l.Timeout)
		if err != nil || d <= 0 {
			return c, &tomlfile.KeyError{Key: "ldap.timeout", Err: fmt.Errorf("%q is not a duration such as 10s", l.Timeout)}
		}
		c.Timeout = d
	}
	return c, c.Validate()
}

// SystemdConfig is where the per-task units go.
type SystemdConfig struct {
	UnitDir string `toml:"unit_dir"`
}

func defaultConfig() Config {
	return Config{
		StateDir:       "/var/lib/mailpull",
		TasksDir:       "/etc/mailpull/tasks",
		CredentialsDir: "/etc/mailpull/credentials",
		Dovecot: DovecotConfig{
			IMAP:               "127.0.0.1:143",
			Security:           "none",
			LMTP:               "/run/dovecot/lmtp",
			MasterUser:         "vmail",
			MasterPasswordFile: "/etc/mailpull/master.pwd",
			Separator:          "*",
		},
		Systemd: SystemdConfig{UnitDir: "/etc/systemd/system"},
	}
}

// configFile picks the file: the flag, then MAILPULL_CONFIG, then the
// config credential that systemd hands a run (mailpull-sync@.service), then
// the default.
func configFile(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if env := os.Getenv("MAILPULL_CONFIG"); env != "" {
		return env
	}
	if file := credential("config"); file != "" {
		return file
	}
	return defaultConfigFile
}

// loadConfig reads and checks a config file. A missing default file means
// the defaults; a missing named file is an error. Every problem is reported
// at once, with its line.
func loadConfig(file string, named bool) (Config, error) {
	cfg := defaultConfig()
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) && !named {
		return cfg, nil
	}
	if err != nil {
		return cfg, configError(err)
	}
	if err := tomlfile.Decode(file, data, &cfg); err != nil {
		return cfg, configError(err)
	}
	if err := tomlfile.Locate(file, data, cfg.validate()); err != nil {
		return cfg, configError(err)
	}
	return cfg, nil
}

func configError(err error) error { return &exitError{code: ExitConfig, err: err} }

func (c *Config) validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &tomlfile.KeyError{Key: key, Err: fmt.Errorf(format, args...)})
	}
	checkPath(bad, "state_dir", c.StateDir)
	checkPath(bad, "tasks_dir", c.TasksDir)
	checkPath(bad, "credentials_dir", c.CredentialsDir)
	c.Dovecot.validate(bad)
	if c.LDAP != nil {
		if _, err := c.LDAP.directory(c.CredentialsDir); err != nil {
			errs = append(errs, err)
		}
	}
	checkPath(bad, "systemd.unit_dir", c.Systemd.UnitDir)
	return errors.Join(errs...)
}

func (d *DovecotConfig) validate(bad func(key, format string, args ...any)) {
	checkAddr(bad, "dovecot.imap", d.IMAP)
	checkAddr(bad, "dovecot.lmtp", d.LMTP)
	checkChoice(bad, "dovecot.security", d.Security, "none", "starttls", "ssl")
	if d.CAFile != "" {
		checkPath(bad, "dovecot.ca_file", d.CAFile)
	}
	checkPath(bad, "dovecot.master_password_file", d.MasterPasswordFile)
	if d.MasterUser == "" || strings.ContainsAny(d.MasterUser, " \t\r\n*") {
		bad("dovecot.master_user", "%q is not a user name", d.MasterUser)
	}
	if d.Domain != "" && strings.ContainsAny(d.Domain, "@<> \t\r\n") {
		bad("dovecot.domain", "%q is not a mail domain", d.Domain)
	}
	if len(d.Separator) != 1 || d.Separator == " " {
		bad("dovecot.separator", "%q: want one character, as Dovecot's auth_master_user_separator", d.Separator)
	}
}

func checkPath(bad func(key, format string, args ...any), key, p string) {
	if !filepath.IsAbs(p) || filepath.Clean(p) != p || strings.ContainsAny(p, "\x00\n") {
		bad(key, "%q is not a clean absolute path", p)
	}
}

// checkAddr admits host:port or an absolute unix socket path.
func checkAddr(bad func(key, format string, args ...any), key, a string) {
	if filepath.IsAbs(a) {
		checkPath(bad, key, a)
		return
	}
	if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
		bad(key, "%q: want host:port or a unix socket path", a)
	}
}

func checkChoice(bad func(key, format string, args ...any), key, v string, choices ...string) {
	for _, c := range choices {
		if v == c {
			return
		}
	}
	bad(key, "%q is not one of %s", v, strings.Join(choices, ", "))
}
