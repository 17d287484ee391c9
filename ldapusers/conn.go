package ldapusers

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// endpoint is a parsed URL: addr is host:port, or a socket path for ldapi.
type endpoint struct {
	scheme, host, addr string
}

// parseEndpoint parses the URL by hand for ldapi, whose host is a
// percent-encoded path that net/url rejects.
func parseEndpoint(raw string) (endpoint, error) {
	if rest, ok := strings.CutPrefix(raw, "ldapi://"); ok {
		path, err := url.PathUnescape(strings.TrimSuffix(rest, "/"))
		if err != nil || strings.Contains(path, "?") {
			return endpoint{}, fmt.Errorf("url %q: want ldapi://%%2Fpath%%2Fto%%2Fsocket", raw)
		}
		return endpoint{scheme: "ldapi", addr: orDefault(path, "/var/run/slapd/ldapi")}, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, fmt.Errorf("url: %w", err)
	}
	port := map[string]string{"ldap": "389", "ldaps": "636"}[u.Scheme]
	switch {
	case port == "":
		return endpoint{}, fmt.Errorf("url %q: want ldap://, ldaps:// or ldapi://", raw)
	case u.Hostname() == "":
		return endpoint{}, fmt.Errorf("url %q: no host", raw)
	case strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil:
		return endpoint{}, fmt.Errorf("url %q: only scheme, host and port; base_dn and filter are separate keys", raw)
	}
	return endpoint{scheme: u.Scheme, host: u.Hostname(), addr: net.JoinHostPort(u.Hostname(), orDefault(u.Port(), port))}, nil
}

// conn is a connection bound as the service account.
type conn struct {
	*ldap.Conn
	stop func() bool
}

func (c *conn) close() {
	c.stop()
	c.Close()
}

// open connects, secures and binds. Cancelling ctx closes the connection,
// which ends whatever request is waiting on it.
func open(ctx context.Context, cfg Config) (*conn, error) {
	ep, err := parseEndpoint(cfg.URL)
	if err != nil {
		return nil, configError(fmt.Errorf("ldap %w", err))
	}
	tlsConf, err := cfg.tlsConfig(ep.host)
	if err != nil {
		return nil, err
	}
	timeout := cfg.Timeout
	nc, err := dial(ctx, ep, tlsConf, timeout)
	if err != nil {
		return nil, fail(ctx, err, timeout, "ldap connect %s", cfg.URL)
	}
	l := ldap.NewConn(nc, ep.scheme == "ldaps")
	l.Start()
	l.SetTimeout(timeout)
	c := &conn{Conn: l, stop: context.AfterFunc(ctx, func() { l.Close() })}
	if err := c.secureAndBind(ctx, cfg, tlsConf); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func dial(ctx context.Context, ep endpoint, tlsConf *tls.Config, timeout time.Duration) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	switch ep.scheme {
	case "ldapi":
		return d.DialContext(ctx, "unix", ep.addr)
	case "ldaps":
		// tls.Dialer applies the timeout to the handshake as well.
		return (&tls.Dialer{NetDialer: d, Config: tlsConf}).DialContext(ctx, "tcp", ep.addr)
	}
	return d.DialContext(ctx, "tcp", ep.addr)
}

func (c *conn) secureAndBind(ctx context.Context, cfg Config, tlsConf *tls.Config) error {
	timeout := cfg.Timeout
	if cfg.StartTLS {
		if err := c.StartTLS(tlsConf); err != nil {
			return fail(ctx, err, timeout, "ldap starttls %s", cfg.URL)
		}
	}
	if cfg.BindDN == "" {
		return nil
	}
	password, err := cfg.bindPassword(ctx)
	if err != nil {
		return err
	}
	if err := c.Bind(cfg.BindDN, password); err != nil {
		return fail(ctx, err, timeout, "ldap bind as %s at %s", cfg.BindDN, cfg.URL)
	}
	return nil
}

// tlsConfig verifies the server by its host name (or IP address) against
// CAFile, or the system's roots without it.
func (cfg Config) tlsConfig(host string) (*tls.Config, error) {
	conf := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if cfg.CAFile == "" {
		return conf, nil
	}
	data, err := os.ReadFile(cfg.CAFile)
	if err != nil {
		return nil, configError(fmt.Errorf("ldap ca_file: %w", err))
	}
	conf.RootCAs = x509.NewCertPool()
	if !conf.RootCAs.AppendCertsFromPEM(data) {
		return nil, configError(fmt.Errorf("ldap ca_file %s: no PEM certificate", cfg.CAFile))
	}
	return conf, nil
}

// bindPassword is the file's content, else the credential's.
func (cfg Config) bindPassword(ctx context.Context) (string, error) {
	if cfg.BindPasswordFile != "" || cfg.BindPassword == nil {
		return readPassword(cfg.BindPasswordFile)
	}
	password, err := cfg.BindPassword(ctx)
	if err != nil {
		return "", configError(fmt.Errorf("ldap bind password: %w", err))
	}
	if password == "" {
		return "", configError(errors.New("ldap bind password: empty"))
	}
	return password, nil
}

// readPassword reads the bind password. Its errors name the file only.
func readPassword(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", configError(fmt.Errorf("ldap bind_password_file: %w", err))
	}
	password := strings.TrimRight(string(data), "\r\n")
	if password == "" {
		return "", configError(fmt.Errorf("ldap bind_password_file %s: empty", path))
	}
	return password, nil
}
