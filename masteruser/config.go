// Package masteruser logs in to the local Dovecot as a mail user through a
// master user, checks that such a login works, and renders the Dovecot 2.3
// settings an admin adds so that it can.
//
// A master login names two users: the target, whose mailbox the session
// opens, and the master, whose password is checked. Dovecot accepts it in
// two forms: the IMAP LOGIN command with "target*master" (the separator is
// auth_master_user_separator), or SASL PLAIN with the target as
// authorization identity and the master as authentication identity
// (doc.dovecot.org/2.3/configuration_manual/authentication/master_users/).
package masteruser

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// Security is how the connection to Dovecot is protected.
type Security string

const (
	// SecurityAuto is none for a unix socket or a loopback address, and
	// STARTTLS for anything else.
	SecurityAuto Security = ""
	// SecurityNone sends the master password in clear: for a unix socket
	// or loopback, where Dovecot itself counts the connection as secured.
	SecurityNone Security = "none"
	// SecuritySTARTTLS upgrades a plain connection, and fails if the
	// server refuses: there is no fallback to clear text.
	SecuritySTARTTLS Security = "starttls"
	// SecurityTLS is implicit TLS (port 993).
	SecurityTLS Security = "tls"
)

// Method is the form of the master login.
type Method string

const (
	// MethodPlain is AUTHENTICATE PLAIN with the user as authorization
	// identity: no separator, so any user name works.
	MethodPlain Method = "plain"
	// MethodLogin is LOGIN "user<separator>master", for servers that do
	// not offer AUTH=PLAIN.
	MethodLogin Method = "login"
)

// DefaultSeparator is Dovecot's usual auth_master_user_separator.
const DefaultSeparator = "*"

// DefaultTimeout bounds a whole Dial: connection, TLS, greeting and login.
const DefaultTimeout = 30 * time.Second

// Config says how to reach the local Dovecot and which master user to use.
type Config struct {
	// Addr is host:port, or the absolute path of a unix socket.
	Addr     string
	Security Security
	// CAFile holds the PEM certificates that may sign the server's; empty
	// means the system's roots.
	CAFile string
	// ServerName is the name the certificate must carry; by default the
	// host of Addr.
	ServerName     string
	MasterUser     string
	MasterPassword string
	// Separator is Dovecot's auth_master_user_separator; default "*".
	Separator string
	// Method defaults to MethodPlain.
	Method Method
	// Timeout defaults to DefaultTimeout.
	Timeout time.Duration
}

// isSocket reports whether Addr names a unix socket.
func (cfg *Config) isSocket() bool { return strings.HasPrefix(cfg.Addr, "/") }

func (cfg *Config) separator() string {
	if cfg.Separator == "" {
		return DefaultSeparator
	}
	return cfg.Separator
}

func (cfg *Config) method() Method {
	if cfg.Method == "" {
		return MethodPlain
	}
	return cfg.Method
}

func (cfg *Config) timeout() time.Duration {
	if cfg.Timeout <= 0 {
		return DefaultTimeout
	}
	return cfg.Timeout
}

// security resolves SecurityAuto.
func (cfg *Config) security() Security {
	if cfg.Security != SecurityAuto {
		return cfg.Security
	}
	if cfg.isSocket() || isLoopback(cfg.Addr) {
		return SecurityNone
	}
	return SecuritySTARTTLS
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Validate reports every problem of the configuration at once.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.Addr == "" {
		errs = append(errs, errors.New("address is empty"))
	} else if _, _, err := net.SplitHostPort(cfg.Addr); err != nil && !cfg.isSocket() {
		errs = append(errs, fmt.Errorf("address %q is neither host:port nor an absolute socket path", cfg.Addr))
	}
	switch cfg.Security {
	case SecurityAuto, SecurityNone, SecuritySTARTTLS, SecurityTLS:
	default:
		errs = append(errs, fmt.Errorf("security %q is not none, starttls or tls", cfg.Security))
	}
	switch cfg.Method {
	case "", MethodPlain, MethodLogin:
	default:
		errs = append(errs, fmt.Errorf("method %q is not plain or login", cfg.Method))
	}
	if cfg.MasterUser == "" {
		errs = append(errs, errors.New("master user is empty"))
	}
	if cfg.MasterPassword == "" {
		errs = append(errs, errors.New("master password is empty"))
	}
	if err := checkSeparator(cfg.separator()); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkSeparator refuses what would break the LOGIN form or the rendered
// Dovecot setting: blanks, quotes, and the config syntax characters.
func checkSeparator(sep string) error {
	if strings.ContainsAny(sep, " \t\r\n\"\\#{}=$%") {
		return fmt.Errorf("separator %q contains a character Dovecot's config or LOGIN cannot carry", sep)
	}
	return nil
}

// tlsConfig verifies the server against CAFile (or the system roots) and
// ServerName (or the host of Addr).
func (cfg *Config) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{ServerName: cfg.ServerName, MinVersion: tls.VersionTLS12}
	if tc.ServerName == "" && !cfg.isSocket() {
		tc.ServerName, _, _ = net.SplitHostPort(cfg.Addr)
	}
	if cfg.CAFile == "" {
		return tc, nil
	}
	pem, err := os.ReadFile(cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	tc.RootCAs = x509.NewCertPool()
	if !tc.RootCAs.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s: no PEM certificate", cfg.CAFile)
	}
	return tc, nil
}
