package inbox

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/mailpull/mailpull/internal/rig"
)

// fakeLMTP is an in-process LMTP server that keeps what it receives and
// refuses, for now, the messages whose body contains defer.
type fakeLMTP struct {
	addr    string
	deferOn string
	mu      sync.Mutex
	conns   int
	got     [][]byte
	froms   []string
}

func startFakeLMTP(t *testing.T) *fakeLMTP {
	t.Helper()
	f := &fakeLMTP{}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.conns++
		return &fakeSession{f: f}, nil
	}))
	s.LMTP, s.Domain = true, "fake.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return f
}

func (f *fakeLMTP) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", f.addr)
}

type fakeSession struct {
	f    *fakeLMTP
	from string
}

func (s *fakeSession) Reset()                                      {}
func (s *fakeSession) Logout() error                               { return nil }
func (s *fakeSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *fakeSession) Rcpt(string, *smtp.RcptOptions) error        { return nil }

func (s *fakeSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if s.f.deferOn != "" && bytes.Contains(b, []byte(s.f.deferOn)) {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.f.got, s.f.froms = append(s.f.got, b), append(s.f.froms, s.from)
	return nil
}

// One LMTP connection serves the whole run, a 4xx leaves its message for
// the next run without ending the connection, and what arrives is the added
// fields and then the remote message, byte for byte (dot-stuffing undone).
func TestOneConnectionPerRunAndDeferredMessages(t *testing.T) {
	t.Parallel()
	w := newWorld(t, rig.LocalOptions{})
	f := startFakeLMTP(t)
	w.cfg.LMTP = f.dial
	dotted := mail("dots")
	dotted.Body = append(dotted.Body, []byte(".a line with a dot\r\n..and two\r\n")...)
	w.remote.Put(t, "INBOX", mail("one"), mail("busy"), dotted, mail("four"))
	f.deferOn = "Subject: busy"

	sum, err := Run(context.Background(), w.cfg)
	if !errors.Is(err, ErrDeferred) || sum.Delivered != 3 || sum.Deferred != 1 || f.conns != 1 {
		t.Fatalf("run: %v, %+v, %d connections: want 3 delivered, 1 deferred, 1 connection", err, sum, f.conns)
	}
	flags := w.remoteFlags(t)
	if seen(flags["busy"]) || !seen(flags["dots"]) {
		t.Fatalf("remote flags %v: the deferred message must stay unread", flags)
	}
	remote := w.remote.Read(t)["INBOX"]
	want := string(w.runHead(t, 3)) + string(remote[2].Body)
	if string(f.got[1]) != want || f.froms[1] != "friend@example.net" {
		t.Fatalf("received from %q:\n%q\nwant\n%q", f.froms[1], f.got[1], want)
	}

	f.deferOn = ""
	sum, err = Run(context.Background(), w.cfg)
	if err != nil || sum.Delivered != 1 || !strings.Contains(string(f.got[3]), "Subject: busy") {
		t.Fatalf("second run: %v, %+v", err, sum)
	}
}

// runHead is the head a run adds to remote message uid.
func (w *world) runHead(t *testing.T, uid uint32) []byte {
	r := &run{cfg: w.cfg, uidvalidity: w.remoteUIDValidity(t)}
	return r.head(uid)
}
