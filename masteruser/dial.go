package masteruser

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// Dial connects to Dovecot and logs in as user through the master user. The
// client it returns is authenticated; the caller closes it. Errors are
// classified with [ErrMasterAuth], [ErrUnknownUser], [ErrUnreachable] and
// [ErrTLS], and never contain the master password.
//
// The whole exchange is bounded by cfg.Timeout and ctx: a server that
// accepts the connection but never answers fails as [ErrUnreachable].
func Dial(ctx context.Context, cfg Config, user string) (*imapclient.Client, error) {
	c, err := dial(ctx, cfg, user)
	if err != nil {
		return nil, fmt.Errorf("log in as %s through master user %s at %s: %w", user, cfg.MasterUser, cfg.Addr, err)
	}
	return c, nil
}

func dial(ctx context.Context, cfg Config, user string) (*imapclient.Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if user == "" {
		return nil, errors.New("user is empty")
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout())
	defer cancel()
	conn, err := connect(ctx, &cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	// go-imap has no contexts: closing the connection is what interrupts
	// a read that waits for a silent server.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	c, err := session(ctx, &cfg, conn, user)
	if !stop() {
		err = fmt.Errorf("%w: %w", ErrUnreachable, context.Cause(ctx))
	}
	if err != nil {
		if c != nil {
			// A failed AUTHENTICATE can leave the session out of step.
			c.Close()
		}
		conn.Close()
		return nil, err
	}
	return c, nil
}

// connect opens the TCP or unix socket connection.
func connect(ctx context.Context, cfg *Config) (net.Conn, error) {
	network := "tcp"
	if cfg.isSocket() {
		network = "unix"
	}
	var d net.Dialer
	return d.DialContext(ctx, network, cfg.Addr)
}

// session secures the connection as configured, reads the greeting, and
// logs in. It returns the client even on a login error, for closing.
func session(ctx context.Context, cfg *Config, conn net.Conn, user string) (*imapclient.Client, error) {
	c, err := secure(ctx, cfg, conn)
	if err != nil {
		return nil, err
	}
	if err := c.WaitGreeting(); err != nil {
		return c, fmt.Errorf("%w: greeting: %w", ErrUnreachable, err)
	}
	if err := login(c, cfg, user); err != nil {
		return c, classifyLogin(err)
	}
	return c, nil
}

// secure wraps conn in TLS as cfg.Security says. STARTTLS never falls back
// to clear text: a refusal is an error.
func secure(ctx context.Context, cfg *Config, conn net.Conn) (*imapclient.Client, error) {
	sec := cfg.security()
	if sec == SecurityNone {
		return imapclient.New(conn, nil), nil
	}
	tc, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	if sec == SecuritySTARTTLS {
		c, err := imapclient.NewStartTLS(conn, &imapclient.Options{TLSConfig: tc})
		if err != nil {
			return nil, fmt.Errorf("starttls: %w", classifyStartTLS(err))
		}
		return c, nil
	}
	tc.NextProtos = []string{"imap"}
	tlsConn := tls.Client(conn, tc)
	if err := tlsConn.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("tls: %w", classifyHandshake(err))
	}
	return imapclient.New(tlsConn, nil), nil
}

// classifyStartTLS: a server that answers STARTTLS with NO or BAD does not
// offer TLS, which is a TLS failure, not an unreachable server.
func classifyStartTLS(err error) error {
	var imapErr *imap.Error
	if errors.As(err, &imapErr) {
		return fmt.Errorf("%w: %w", ErrTLS, err)
	}
	return classifyHandshake(err)
}

func login(c *imapclient.Client, cfg *Config, user string) error {
	if cfg.method() == MethodLogin {
		return c.Login(user+cfg.separator()+cfg.MasterUser, cfg.MasterPassword).Wait()
	}
	// PLAIN: authorization identity = the user to become, authentication
	// identity = the master whose password this is (RFC 4616 section 2).
	return c.Authenticate(sasl.NewPlainClient(user, cfg.MasterUser, cfg.MasterPassword))
}

// Check logs in as user and opens the INBOX read-only: the proof that the
// master user works for this user and that the mailbox can be opened.
//
// With result_success = continue on the master passdb (what [Settings]
// renders), an unknown or disabled user fails at login with
// [ErrUnknownUser]. Without it (as on NethServer 8), Dovecot 2.3.19
// authenticates the master, then fails the userdb lookup after the fact:
// the log says "Authenticated user not found from userdb" and the client
// gets either NO [UNAVAILABLE] Internal error occurred, or just a closed
// connection, whichever comes first. That is not told apart from a real
// server fault, so Check returns it unclassified.
func Check(ctx context.Context, cfg Config, user string) error {
	c, err := Dial(ctx, cfg, user)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return fmt.Errorf("check %s at %s: examine INBOX: %w", user, cfg.Addr, err)
	}
	if err := c.Logout().Wait(); err != nil {
		return fmt.Errorf("check %s at %s: logout: %w", user, cfg.Addr, err)
	}
	return nil
}
