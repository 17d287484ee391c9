package rig

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// testMessages are a few messages with system flags, keywords and dates far
// from now, so a copy that loses any of them shows.
func testMessages(tag string) []Message {
	date := time.Date(2019, 3, 14, 15, 9, 26, 0, time.FixedZone("", -5*3600))
	msg := func(i int) []byte {
		return fmt.Appendf(nil, "From: a@example.com\r\nTo: b@example.com\r\n"+
			"Subject: %s %d\r\nMessage-ID: <%s.%d@example.com>\r\n\r\nbody %d\r\n", tag, i, tag, i, i)
	}
	return []Message{
		{Flags: nil, Date: date, Body: msg(1)},
		{Flags: []imap.Flag{imap.FlagSeen, imap.FlagFlagged}, Date: date.Add(24 * time.Hour), Body: msg(2)},
		{Flags: []imap.Flag{imap.FlagAnswered, "$Label1", "Work"}, Date: date.AddDate(1, 0, 0), Body: msg(3)},
	}
}

func TestRemotePutRead(t *testing.T) {
	t.Parallel()
	r := StartRemote(t)
	inbox, archive := testMessages("inbox"), testMessages("archive")
	r.Put(t, "INBOX", inbox...)
	r.Put(t, "Archive.2019", archive...)

	dials := map[string]func() (*imapclient.Client, error){
		"plain": func() (*imapclient.Client, error) { return imapclient.DialInsecure(r.Addr, nil) },
		"starttls": func() (*imapclient.Client, error) {
			return imapclient.DialStartTLS(r.Addr, &imapclient.Options{TLSConfig: r.CA.TLSConfig()})
		},
		"tls": func() (*imapclient.Client, error) {
			return imapclient.DialTLS(r.TLSAddr, &imapclient.Options{TLSConfig: r.CA.TLSConfig()})
		},
	}
	for name, dial := range dials {
		t.Run(name, func(t *testing.T) {
			c, err := dial()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Login(r.User, r.Password).Wait(); err != nil {
				t.Fatal(err)
			}
			got := ReadAll(t, c)
			for folder, want := range map[string][]Message{"INBOX": inbox, "Archive.2019": archive} {
				if !EqualMessages(got[folder], want) {
					t.Errorf("%s:\n got %v\nwant %v", folder, got[folder], want)
				}
			}
		})
	}
}

// TestRemoteTLSVerified proves the listeners present the CA's certificate:
// a client trusting another CA is refused.
func TestRemoteTLSVerified(t *testing.T) {
	t.Parallel()
	r := StartRemote(t)
	other := NewCA(t, t.TempDir())
	_, err := imapclient.DialTLS(r.TLSAddr, &imapclient.Options{TLSConfig: other.TLSConfig()})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("dial with a foreign CA: %v, want a certificate error", err)
	}
}

func TestRemoteSlashSeparator(t *testing.T) {
	t.Parallel()
	r := StartRemoteWith(t, RemoteOptions{Separator: "/"})
	r.Put(t, "Lists/go.dev", testMessages("lists")...)
	got := r.Read(t)
	if !EqualMessages(got["Lists/go.dev"], testMessages("lists")) {
		t.Fatalf("Lists/go.dev: %v", got)
	}
}

// TestLocalSieveLMTP delivers over both LMTP listeners to a user whose Sieve
// script files everything into Lists, and reads it back.
func TestLocalSieveLMTP(t *testing.T) {
	t.Parallel()
	l := StartLocal(t, LocalOptions{})
	l.SetSieve(t, "alice", "require \"fileinto\";\nfileinto \"Lists\";\n")
	msgs := testMessages("lmtp")
	lmtp(t, "unix", l.LMTPSocket, l.Users["alice"].Mail, msgs[0].Body)
	lmtp(t, "tcp", l.LMTPAddr, l.Users["alice"].Mail, msgs[1].Body)

	got := l.Read(t, "alice")
	if len(got["INBOX"]) != 0 {
		t.Errorf("INBOX has %d messages, want 0 (Sieve files into Lists)", len(got["INBOX"]))
	}
	lists := got["Lists"]
	if len(lists) != 2 {
		t.Fatalf("Lists has %d messages, want 2; folders: %v", len(lists), got)
	}
	for i, m := range lists {
		checkDelivered(t, m.Body, msgs[i].Body)
	}
}

func lmtp(t *testing.T, network, addr, rcpt string, body []byte) {
	t.Helper()
	conn, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClientLMTP(conn)
	defer c.Close()
	if err := c.Hello("mailpull.test"); err != nil {
		t.Fatalf("LHLO: %v", err)
	}
	if err := c.Mail("a@example.com", nil); err != nil {
		t.Fatalf("MAIL: %v", err)
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		t.Fatalf("RCPT: %v", err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatalf("DATA: %v", err)
	}
	if _, err := io.Copy(w, bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.CloseWithLMTPResponse(); err != nil {
		t.Fatalf("delivery over %s: %v", network, err)
	}
	if err := c.Quit(); err != nil {
		t.Fatalf("QUIT: %v", err)
	}
}

// checkDelivered checks that got is sent preceded only by the trace headers
// Dovecot's LMTP prepends.
func checkDelivered(t *testing.T, got, sent []byte) {
	t.Helper()
	prefix, ok := bytes.CutSuffix(got, sent)
	if !ok {
		t.Fatalf("stored message does not end with the bytes sent:\n%s", got)
	}
	for _, line := range strings.SplitAfter(string(prefix), "\r\n") {
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		name, _, _ := strings.Cut(line, ":")
		switch name {
		case "Return-Path", "Delivered-To", "Received":
		default:
			t.Errorf("unexpected header prepended: %q", line)
		}
	}
}

// TestLocalLDAP: users come from the directory, the locked one is refused
// by LMTP as unknown, and the "." separator stores hierarchy.
func TestLocalLDAP(t *testing.T) {
	t.Parallel()
	slapd := StartSlapd(t)
	l := StartLocal(t, LocalOptions{LDAP: slapd, Separator: "."})
	msgs := testMessages("ldap")
	lmtp(t, "unix", l.LMTPSocket, l.Users["alice"].Mail, msgs[0].Body)
	if err := rcpt(t, l.LMTPSocket, l.Users["dave"].Mail); err == nil || err.Code != 550 {
		t.Errorf("RCPT to the locked user: %v, want 550", err)
	}
	Append(t, l.Dial(t, "carol"), "Lists.go", msgs[1:]...)

	alice := l.Read(t, "alice")
	if len(alice["INBOX"]) != 1 {
		t.Fatalf("alice: %v", alice)
	}
	checkDelivered(t, alice["INBOX"][0].Body, msgs[0].Body)
	if got := l.Read(t, "carol")["Lists.go"]; !EqualMessages(got, msgs[1:]) {
		t.Errorf("carol's Lists.go: %v", got)
	}
}

// rcpt tries a recipient over LMTP and returns the server's refusal.
func rcpt(t *testing.T, socket, addr string) *smtp.SMTPError {
	t.Helper()
	conn, err := net.DialTimeout("unix", socket, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClientLMTP(conn)
	defer c.Close()
	if err := c.Hello("mailpull.test"); err != nil {
		t.Fatalf("LHLO: %v", err)
	}
	if err := c.Mail("", nil); err != nil {
		t.Fatalf("MAIL: %v", err)
	}
	var smtpErr *smtp.SMTPError
	if err := c.Rcpt(addr, nil); errors.As(err, &smtpErr) {
		return smtpErr
	} else if err != nil {
		t.Fatalf("RCPT: %v", err)
	}
	return nil
}
