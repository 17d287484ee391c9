package remote

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

// tlsConfig verifies the server itself, after the handshake's own checks are
// off, so that a failure can name the certificate's fingerprint and a pinned
// fingerprint can accept a certificate no CA vouches for.
func tlsConfig(cfg *Config) (*tls.Config, error) {
	roots, err := rootPool(cfg.CAFile)
	if err != nil {
		return nil, err
	}
	pin := strings.ToLower(strings.ReplaceAll(cfg.Fingerprint, ":", ""))
	return &tls.Config{
		ServerName:         cfg.Host,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // verified in VerifyConnection below
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verify(cfg, roots, pin, cs)
		},
	}, nil
}

func rootPool(caFile string) (*x509.CertPool, error) {
	if caFile == "" {
		return nil, nil // system roots
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("tls CA file: %w: %w", err, ErrConfig)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls CA file %s: no PEM certificate in it: %w", caFile, ErrConfig)
	}
	return pool, nil
}

func verify(cfg *Config, roots *x509.CertPool, pin string, cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return &CertError{Addr: cfg.Addr(), Reason: "the server sent no certificate"}
	}
	leaf := cs.PeerCertificates[0]
	sum := sha256.Sum256(leaf.Raw)
	fp := hex.EncodeToString(sum[:])
	if pin != "" {
		if fp == pin {
			return nil
		}
		return &CertError{Addr: cfg.Addr(), Fingerprint: fp, Reason: "it does not match the pinned fingerprint " + pin}
	}
	if cfg.Insecure {
		return nil
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: cfg.Host})
	if err != nil {
		return &CertError{Addr: cfg.Addr(), Fingerprint: fp, Reason: reason(err)}
	}
	return nil
}

// reason says in words what is wrong with a certificate.
func reason(err error) string {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var host x509.HostnameError
	switch {
	case errors.As(err, &unknown):
		return "it is signed by an unknown authority"
	case errors.As(err, &host):
		return "it is not valid for this host name: " + host.Error()
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "it has expired or is not yet valid: " + invalid.Detail
	}
	return err.Error()
}

func tlsClient(conn net.Conn, cfg *Config) (net.Conn, error) {
	tc, err := tlsConfig(cfg)
	if err != nil {
		return nil, err
	}
	c := tls.Client(conn, tc)
	if err := c.Handshake(); err != nil {
		var certErr *CertError
		if errors.As(err, &certErr) {
			return nil, certErr
		}
		return nil, fmt.Errorf("%s: TLS handshake: %w", cfg.Addr(), temporary(err))
	}
	return c, nil
}
