package remote

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/mailpull/mailpull/internal/rig"
)

// fakeServer is an in-memory IMAP server with one user, "remote"/"pw". It
// counts logins, so a test can tell whether a password was ever sent.
type fakeServer struct {
	addr   string
	ca     *rig.CA
	logins atomic.Int32
}

type countingSession struct {
	imapserver.Session
	srv *fakeServer
}

func (s *countingSession) Login(user, pass string) error {
	s.srv.logins.Add(1)
	return s.Session.Login(user, pass)
}

// startFake starts the server: mode "ssl" (implicit TLS), "starttls" or
// "plain" (no STARTTLS offered).
func startFake(t *testing.T, mode string) *fakeServer {
	t.Helper()
	return startFakeWith(t, mode, rig.NewCA(t, t.TempDir()))
}

func startFakeWith(t *testing.T, mode string, ca *rig.CA) *fakeServer {
	t.Helper()
	f := &fakeServer{ca: ca}
	mem := imapmemserver.New()
	u := imapmemserver.NewUser("remote", "pw")
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(u)
	cert, err := tls.LoadX509KeyPair(f.ca.CertFile, f.ca.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}}
	opts := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &countingSession{mem.NewSession(), f}, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	}
	if mode == StartTLS {
		opts.TLSConfig = tc
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if mode == SSL {
		ln = tls.NewListener(ln, tc)
	}
	srv := imapserver.New(opts)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	f.addr = ln.Addr().String()
	return f
}

func (f *fakeServer) config(security string) Config {
	host, port, _ := net.SplitHostPort(f.addr)
	p, _ := strconv.Atoi(port)
	return Config{Host: host, Port: p, Security: security, User: "remote", Password: "pw", CAFile: f.ca.CAFile,
		LoginTimeout: 5 * time.Second}
}

func dialOK(t *testing.T, cfg Config) {
	t.Helper()
	c, err := Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	c.Close()
}

func TestSecurityModes(t *testing.T) {
	dialOK(t, startFake(t, SSL).config(SSL))
	dialOK(t, startFake(t, StartTLS).config(StartTLS))
	dialOK(t, startFake(t, "plain").config(None))
}

func TestCertificateChecks(t *testing.T) {
	f := startFake(t, SSL)
	cfg := f.config(SSL)
	cfg.CAFile = "" // system roots do not know the test CA
	_, err := Dial(context.Background(), cfg)
	var certErr *CertError
	if !errors.As(err, &certErr) || !errors.Is(err, ErrUntrusted) {
		t.Fatalf("untrusted certificate: %v", err)
	}
	if certErr.Fingerprint != f.ca.Fingerprint() || !strings.Contains(err.Error(), f.ca.Fingerprint()) {
		t.Errorf("the error does not show the certificate's SHA-256 %s: %v", f.ca.Fingerprint(), err)
	}
	if !strings.Contains(err.Error(), "unknown authority") {
		t.Errorf("the error does not say why: %v", err)
	}
	if f.logins.Load() != 0 {
		t.Error("a password was sent over an untrusted connection")
	}

	pinned := cfg
	pinned.Fingerprint = strings.ToUpper(f.ca.Fingerprint())
	dialOK(t, pinned)
	pinned.Fingerprint = strings.Repeat("00", 32)
	if _, err := Dial(context.Background(), pinned); !errors.Is(err, ErrUntrusted) {
		t.Errorf("wrong pin accepted: %v", err)
	}
	insecure := cfg
	insecure.Insecure = true
	dialOK(t, insecure)
}

func TestCertificateForAnotherHost(t *testing.T) {
	f := startFake(t, StartTLS)
	cfg := f.config(StartTLS)
	cfg.Host = "localhost" // the certificate names 127.0.0.1 and localhost
	dialOK(t, cfg)

	day := 24 * time.Hour
	other := startFakeWith(t, StartTLS, rig.NewCAFor(t, t.TempDir(), "imap.example.org", time.Now().Add(-day), time.Now().Add(day)))
	_, err := Dial(context.Background(), other.config(StartTLS))
	if !errors.Is(err, ErrUntrusted) || !strings.Contains(err.Error(), "not valid for this host name") {
		t.Fatalf("certificate for another host: %v", err)
	}
	if other.logins.Load() != 0 {
		t.Error("a password was sent to a server with another host's certificate")
	}
	pinAccepts(t, other, other.config(StartTLS), err)
}

// pinAccepts wants the refusal err to show the certificate's SHA-256, and
// that SHA-256 as the task's pin, or tls-insecure, to accept it.
func pinAccepts(t *testing.T, f *fakeServer, cfg Config, err error) {
	t.Helper()
	if !strings.Contains(err.Error(), f.ca.Fingerprint()) {
		t.Errorf("the refusal does not show the certificate's SHA-256 %s: %v", f.ca.Fingerprint(), err)
	}
	pinned := cfg
	pinned.Fingerprint = f.ca.Fingerprint()
	dialOK(t, pinned)
	insecure := cfg
	insecure.Insecure = true
	dialOK(t, insecure)
}

func TestExpiredCertificate(t *testing.T) {
	day := 24 * time.Hour
	f := startFakeWith(t, SSL, rig.NewCAFor(t, t.TempDir(), "127.0.0.1", time.Now().Add(-3*day), time.Now().Add(-day)))
	_, err := Dial(context.Background(), f.config(SSL))
	if !errors.Is(err, ErrUntrusted) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired certificate: %v", err)
	}
	pinAccepts(t, f, f.config(SSL), err)
}

func TestStartTLSNeverFallsBack(t *testing.T) {
	f := startFake(t, "plain") // offers no STARTTLS
	_, err := Dial(context.Background(), f.config(StartTLS))
	if !errors.Is(err, ErrStartTLS) {
		t.Fatalf("err = %v, want ErrStartTLS", err)
	}
	if f.logins.Load() != 0 {
		t.Fatal("the password was sent in clear after STARTTLS was refused")
	}
}

func TestWrongPassword(t *testing.T) {
	cfg := startFake(t, SSL).config(SSL)
	cfg.Password = "wrong"
	_, err := Dial(context.Background(), cfg)
	if !errors.Is(err, ErrAuth) || errors.Is(err, ErrTemporary) {
		t.Fatalf("err = %v, want ErrAuth only", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Fatalf("the password is in the error: %v", err)
	}
}

func TestHostNotFound(t *testing.T) {
	_, err := Dial(context.Background(), Config{Host: "imap.nonexistent.invalid", Port: 993, Security: SSL})
	if !errors.Is(err, ErrHostNotFound) {
		t.Fatalf("err = %v, want ErrHostNotFound", err)
	}
}

func TestRefusedIsTemporary(t *testing.T) {
	port := rig.FreePort(t)
	_, err := Dial(context.Background(), Config{Host: "127.0.0.1", Port: port, Security: None})
	if !errors.Is(err, ErrTemporary) {
		t.Fatalf("err = %v, want a temporary error", err)
	}
}

// A server that accepts the connection and never says a word must not hang
// the run: the watchdog closes the connection.
func TestSilentServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	start := time.Now()
	_, err = Dial(context.Background(), Config{Host: host, Port: p, Security: None, LoginTimeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	t.Logf("gave up after %v", time.Since(start))
}

func TestContextCancelUnblocks(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			time.Sleep(10 * time.Second)
		}
	}()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err = Dial(ctx, Config{Host: host, Port: p, Security: None, LoginTimeout: time.Minute})
	if err == nil {
		t.Fatal("dial succeeded against a silent server")
	}
}

// scripted answers STARTTLS with reply and records whatever the client sends
// afterwards.
func scripted(t *testing.T, reply string) (Config, func() string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var got strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.WriteString(c, "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n")
		buf := make([]byte, 4096)
		n, _ := c.Read(buf) // the STARTTLS command
		got.Write(buf[:n])
		io.WriteString(c, reply)
		c.SetReadDeadline(time.Now().Add(time.Second))
		n, _ = c.Read(buf)
		got.Write(buf[:n])
	}()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	sent := func() string { <-done; return got.String() }
	return Config{Host: host, Port: p, Security: StartTLS, User: "u", Password: "secret-pw", LoginTimeout: 5 * time.Second}, sent
}

func TestStartTLSRefusals(t *testing.T) {
	for name, reply := range map[string]string{
		"BAD":      "m0 BAD STARTTLS not available\r\n",
		"NO":       "m0 NO [PRIVACYREQUIRED] later\r\n",
		"injected": "m0 OK begin TLS\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			cfg, sent := scripted(t, reply)
			_, err := Dial(context.Background(), cfg)
			if !errors.Is(err, ErrStartTLS) {
				t.Fatalf("err = %v, want ErrStartTLS", err)
			}
			if s := sent(); strings.Contains(s, "secret-pw") || strings.Contains(s, "LOGIN") {
				t.Fatalf("credentials sent: %q", s)
			}
		})
	}
}
