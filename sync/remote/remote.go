// Package remote opens the session to a remote IMAP server: the connection
// security the task asks for (implicit TLS, STARTTLS that never falls back
// to plaintext, or none), certificate checks against the system roots or a
// CA file, a per-task pin of the certificate's SHA-256 or an explicit
// "insecure", the login, and the IMAP ID that some servers require.
//
// go-imap has no context: a [Watchdog] closes the connection when the
// caller's context ends or a deadline passes, which unblocks every pending
// command.
package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/mailpull/mailpull/sync/folders"
)

// Security modes.
const (
	SSL      = "ssl"
	StartTLS = "starttls"
	None     = "none"
)

// Config is what a task says of its remote server.
type Config struct {
	Host     string
	Port     int
	Security string // SSL, StartTLS or None

	CAFile      string // trust this CA instead of the system roots
	Insecure    bool   // accept any certificate
	Fingerprint string // accept the certificate with this SHA-256 (hex), trusted or not

	User     string
	Password string

	DialTimeout time.Duration // default 15s
	// LoginTimeout bounds greeting, STARTTLS, login and ID; default 60s.
	LoginTimeout time.Duration
	// Version goes into the IMAP ID the client sends.
	Version string
	// Unilateral receives the server's unsolicited data (EXPUNGE …).
	Unilateral *imapclient.UnilateralDataHandler
}

// Addr is host:port.
func (c *Config) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// Dial connects, secures and logs in. On error nothing is left open.
func Dial(ctx context.Context, cfg Config) (*imapclient.Client, error) {
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 15 * time.Second
	}
	if cfg.LoginTimeout == 0 {
		cfg.LoginTimeout = time.Minute
	}
	conn, err := dial(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	wd := NewWatchdog(ctx, conn, cfg.LoginTimeout)
	c, err := open(conn, &cfg)
	if err == nil {
		err = login(c, &cfg)
	}
	if wd.Stop() && err != nil {
		err = fmt.Errorf("%s: no answer within %v: %w", cfg.Addr(), cfg.LoginTimeout, ErrTimeout)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

func dial(ctx context.Context, cfg *Config) (net.Conn, error) {
	d := net.Dialer{Timeout: cfg.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", cfg.Addr())
	if err != nil {
		return nil, classifyDial(cfg, err)
	}
	return conn, nil
}

func classifyDial(cfg *Config, err error) error {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return fmt.Errorf("%s: host not found: %w", cfg.Host, ErrHostNotFound)
	}
	return fmt.Errorf("connect to %s: %w", cfg.Addr(), temporary(err))
}

// open wraps conn in the task's security and returns the IMAP client. The
// folder-name guard sits right under go-imap, above TLS.
func open(conn net.Conn, cfg *Config) (*imapclient.Client, error) {
	opts := &imapclient.Options{UnilateralDataHandler: cfg.Unilateral}
	var err error
	switch cfg.Security {
	case None:
	case SSL:
		conn, err = tlsClient(conn, cfg)
	case StartTLS:
		conn, err = upgrade(conn, cfg)
	default:
		err = fmt.Errorf("security %q: %w", cfg.Security, ErrConfig)
	}
	if err != nil {
		return nil, err
	}
	return imapclient.New(folders.Guard(conn), opts), nil
}

// login uses AUTHENTICATE PLAIN where offered, else LOGIN, then sends ID
// where the server has it (some require it before anything else).
func login(c *imapclient.Client, cfg *Config) error {
	var err error
	if c.Caps().Has(imap.AuthCap(sasl.Plain)) {
		err = c.Authenticate(sasl.NewPlainClient("", cfg.User, cfg.Password))
	} else {
		err = c.Login(cfg.User, cfg.Password).Wait()
	}
	if err != nil {
		return classifyLogin(cfg, err)
	}
	if c.Caps().Has(imap.CapID) {
		if _, err := c.ID(&imap.IDData{Name: "mailpull", Version: cfg.Version}).Wait(); err != nil {
			return fmt.Errorf("%s: ID: %w", cfg.Addr(), temporary(err))
		}
	}
	return nil
}

func classifyLogin(cfg *Config, err error) error {
	var imapErr *imap.Error
	if !errors.As(err, &imapErr) {
		return fmt.Errorf("%s: login: %w", cfg.Addr(), temporary(err))
	}
	switch imapErr.Code {
	case imap.ResponseCodeUnavailable, "INUSE", "THROTTLED":
		return fmt.Errorf("%s: login as %s: %s: %w", cfg.Addr(), cfg.User, imapErr.Text, temporary(err))
	}
	return fmt.Errorf("%s: login as %s refused: %s: %w", cfg.Addr(), cfg.User, imapErr.Text, ErrAuth)
}
