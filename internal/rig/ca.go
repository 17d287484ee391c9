package rig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a test certificate authority and one server certificate it signed,
// valid for 127.0.0.1 and localhost.
type CA struct {
	CAFile   string // PEM of the CA certificate, for clients
	CertFile string // PEM of the server certificate
	KeyFile  string // PEM of the server key (readable by the rig account)
	Pool     *x509.CertPool
	Leaf     *x509.Certificate
}

// Fingerprint is the hex SHA-256 of the server certificate (DER).
func (ca *CA) Fingerprint() string {
	sum := sha256.Sum256(ca.Leaf.Raw)
	return hex.EncodeToString(sum[:])
}

// TLSConfig verifies the server certificate against the CA.
func (ca *CA) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: ca.Pool, ServerName: "127.0.0.1"}
}

// NewCA creates a CA and a server certificate in dir.
func NewCA(t testing.TB, dir string) *CA {
	t.Helper()
	return NewCAFor(t, dir, "127.0.0.1", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
}

// NewCAFor creates a CA and a server certificate for host, valid between
// notBefore and notAfter (so tests can make expired or misnamed ones).
func NewCAFor(t testing.TB, dir, host string, notBefore, notAfter time.Time) *CA {
	t.Helper()
	caKey, caCert := mustCert(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "mailpull test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(48 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, nil, nil)
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: host},
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	if host == "127.0.0.1" {
		tmpl.DNSNames = []string{"localhost"}
	}
	key, leaf := mustCert(t, tmpl, caCert, caKey)
	ca := &CA{
		CAFile:   filepath.Join(dir, "ca.pem"),
		CertFile: filepath.Join(dir, "server.pem"),
		KeyFile:  filepath.Join(dir, "server.key"),
		Pool:     x509.NewCertPool(),
		Leaf:     leaf,
	}
	ca.Pool.AddCert(caCert)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("rig: %v", err)
	}
	writePEM(t, ca.CAFile, "CERTIFICATE", caCert.Raw, 0o644)
	writePEM(t, ca.CertFile, "CERTIFICATE", leaf.Raw, 0o644)
	writePEM(t, ca.KeyFile, "PRIVATE KEY", keyDER, 0o600)
	Chown(t, ca.KeyFile)
	return ca
}

func mustCert(t testing.TB, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("rig: %v", err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl.SerialNumber = serial
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatalf("rig: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("rig: %v", err)
	}
	return key, cert
}

func writePEM(t testing.TB, path, kind string, der []byte, mode os.FileMode) {
	t.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatalf("rig: %v", err)
	}
}
