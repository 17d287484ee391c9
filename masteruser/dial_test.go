package masteruser_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailpull/mailpull/internal/rig"
	"github.com/mailpull/mailpull/masteruser"
)

var sentinels = []error{masteruser.ErrMasterAuth, masteruser.ErrUnknownUser, masteruser.ErrUnreachable, masteruser.ErrTLS}

// transports are the ways mailpull may reach the local Dovecot.
func transports(l *rig.Local) map[string]masteruser.Config {
	base := masteruser.Config{MasterUser: l.MasterUser, MasterPassword: l.MasterPassword, CAFile: l.CA.CAFile}
	with := func(addr string, sec masteruser.Security) masteruser.Config {
		c := base
		c.Addr, c.Security = addr, sec
		return c
	}
	return map[string]masteruser.Config{
		"loopback": with(l.IMAPAddr, masteruser.SecurityAuto),
		"starttls": with(l.IMAPAddr, masteruser.SecuritySTARTTLS),
		"tls":      with(l.TLSAddr, masteruser.SecurityTLS),
		"unix":     with(l.IMAPSocket, masteruser.SecurityAuto),
	}
}

// TestDial logs in both ways over every transport, and proves each session
// is alice's by storing a message that must then be in her INBOX only.
func TestDial(t *testing.T) {
	t.Parallel()
	l := rig.StartLocal(t, rig.LocalOptions{})
	var want []string
	for name, cfg := range transports(l) {
		for _, method := range []masteruser.Method{masteruser.MethodPlain, masteruser.MethodLogin} {
			cfg.Method = method
			subject := name + "/" + string(method)
			want = append(want, subject)
			t.Run(subject, func(t *testing.T) {
				c, err := masteruser.Dial(context.Background(), cfg, "alice")
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				body := fmt.Sprintf("Subject: %s\r\n\r\nhi\r\n", subject)
				rig.Append(t, c, "INBOX", rig.Message{Body: []byte(body), Date: time.Now()})
			})
		}
	}
	got := subjects(l.Read(t, "alice")["INBOX"])
	for _, s := range want {
		if !strings.Contains(got, "Subject: "+s+"\r\n") {
			t.Errorf("alice's INBOX lacks %q; it has:\n%s", s, got)
		}
	}
	if n := len(l.Read(t, "bob")["INBOX"]); n != 0 {
		t.Errorf("bob's INBOX has %d messages, want 0", n)
	}
}

func subjects(msgs []rig.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		b.Write(m.Body)
	}
	return b.String()
}

// TestDialTLSVerified: a certificate from another CA, or for another name,
// is refused on both TLS transports, as ErrTLS.
func TestDialTLSVerified(t *testing.T) {
	t.Parallel()
	l := rig.StartLocal(t, rig.LocalOptions{})
	other := rig.NewCA(t, t.TempDir())
	for _, name := range []string{"starttls", "tls"} {
		cfg := transports(l)[name]
		t.Run(name+"/foreign CA", func(t *testing.T) {
			cfg := cfg
			cfg.CAFile = other.CAFile
			wantErr(t, masteruser.Check(context.Background(), cfg, "alice"), masteruser.ErrTLS, l.MasterPassword)
		})
		t.Run(name+"/other name", func(t *testing.T) {
			cfg := cfg
			cfg.ServerName = "imap.example.org"
			wantErr(t, masteruser.Check(context.Background(), cfg, "alice"), masteruser.ErrTLS, l.MasterPassword)
		})
	}
}

// TestCheckErrors pins how each failure is classified, for both login
// forms, on the real server.
func TestCheckErrors(t *testing.T) {
	t.Parallel()
	l := rig.StartLocal(t, rig.LocalOptions{})
	good := transports(l)["loopback"]
	wrongPassword := good
	wrongPassword.MasterPassword = "not-" + l.MasterPassword
	wrongMaster := good
	wrongMaster.MasterUser = "vmial"
	runChecks(t, l.MasterPassword,
		check{"good", good, "alice", nil},
		check{"user in another case", good, "Alice", nil}, // auth_username_format = %Ln
		check{"wrong master password", wrongPassword, "alice", masteruser.ErrMasterAuth},
		check{"unknown master user", wrongMaster, "alice", masteruser.ErrMasterAuth},
		check{"unknown user", good, "nobody", masteruser.ErrUnknownUser},
		// The password is checked first: no way to probe for users.
		check{"unknown user, wrong password", wrongPassword, "nobody", masteruser.ErrMasterAuth},
	)
}

// check is one Check and the class of error it must give (nil: success).
type check struct {
	name string
	cfg  masteruser.Config
	user string
	want error
}

var methods = []masteruser.Method{masteruser.MethodPlain, masteruser.MethodLogin}

// runChecks runs the checks with both login forms, all at once: Dovecot
// 2.3.19 answers a failure only at its next 0.5 s tick, and one after the
// other the waits would add up.
func runChecks(t *testing.T, password string, checks ...check) {
	t.Helper()
	errs := make([]error, len(checks)*len(methods))
	var wg sync.WaitGroup
	for i, c := range checks {
		for j, m := range methods {
			cfg := c.cfg
			cfg.Method = m
			wg.Go(func() { errs[i*len(methods)+j] = masteruser.Check(context.Background(), cfg, c.user) })
		}
	}
	wg.Wait()
	for i, c := range checks {
		for j, m := range methods {
			t.Run(c.name+"/"+string(m), func(t *testing.T) {
				wantErr(t, errs[i*len(methods)+j], c.want, password)
			})
		}
	}
}

// TestCheckUnreachable: nothing listening, a missing socket, and a server
// that accepts but never greets all fail fast as ErrUnreachable.
func TestCheckUnreachable(t *testing.T) {
	t.Parallel()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	addrs := map[string]string{
		"closed port":    rig.Addr(rig.FreePort(t)),
		"missing socket": t.TempDir() + "/imap",
		"silent server":  silent.Addr().String(),
	}
	for name, addr := range addrs {
		for _, sec := range []masteruser.Security{masteruser.SecurityNone, masteruser.SecuritySTARTTLS, masteruser.SecurityTLS} {
			t.Run(name+"/"+string(sec), func(t *testing.T) {
				cfg := masteruser.Config{Addr: addr, Security: sec, MasterUser: "vmail",
					MasterPassword: "secret", Timeout: 300 * time.Millisecond}
				start := time.Now()
				err := masteruser.Check(context.Background(), cfg, "alice")
				wantErr(t, err, masteruser.ErrUnreachable, "secret")
				if d := time.Since(start); d > 2*time.Second {
					t.Errorf("took %v, want about the 300ms timeout", d)
				}
			})
		}
	}
}

// TestCheckLDAP: users from the directory; the locked one is filtered out
// by Dovecot's LDAP filters, so it fails like an unknown user, and locking
// a user takes effect at once.
func TestCheckLDAP(t *testing.T) {
	t.Parallel()
	slapd := rig.StartSlapd(t)
	l := rig.StartLocal(t, rig.LocalOptions{LDAP: slapd})
	cfg := transports(l)["loopback"]
	if !l.Users["dave"].Disabled {
		t.Fatal("the rig's directory should have dave disabled")
	}
	runChecks(t, l.MasterPassword,
		check{"enabled", cfg, "alice", nil},
		check{"enabled, not in the group", cfg, "carol", nil},
		check{"locked", cfg, "dave", masteruser.ErrUnknownUser},
		check{"unknown", cfg, "nobody", masteruser.ErrUnknownUser},
	)
	slapd.SetDisabled(t, "carol", true)
	runChecks(t, l.MasterPassword, check{"locked now", cfg, "carol", masteruser.ErrUnknownUser})
	slapd.SetDisabled(t, "carol", false)
	runChecks(t, l.MasterPassword, check{"unlocked again", cfg, "carol", nil})
}

// wantErr checks that err is want (nil for success) and no other class,
// and that it does not reveal the password.
func wantErr(t *testing.T, err, want error, password string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
	for _, s := range sentinels {
		if s != want && errors.Is(err, s) {
			t.Errorf("error %v is also %v", err, s)
		}
	}
	if strings.Contains(err.Error(), password) {
		t.Errorf("error reveals the password: %v", err)
	}
	if msg := err.Error(); msg != strings.ToLower(msg[:1])+msg[1:] {
		t.Errorf("error does not start in lower case: %v", err)
	}
	var imapErr *imap.Error
	if (want == masteruser.ErrMasterAuth || want == masteruser.ErrUnknownUser) && !errors.As(err, &imapErr) {
		t.Errorf("error %v does not carry the server's answer", err)
	}
}

// TestValidate: every problem is reported at once, before any connection.
func TestValidate(t *testing.T) {
	t.Parallel()
	cfg := masteruser.Config{Addr: "imap.example.org", Security: "ssl", Method: "cram", Separator: "a b"}
	err := masteruser.Check(context.Background(), cfg, "alice")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"neither host:port", `security "ssl"`, `method "cram"`,
		"master user is empty", "master password is empty", `separator "a b"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			t.Errorf("config error classified as %v", s)
		}
	}
}

// TestSTARTTLSRefusedNoFallback: a server that refuses STARTTLS (a scripted
// one: every rig server offers TLS) gets ErrTLS, and never a password.
func TestSTARTTLSRefusedNoFallback(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	received := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprint(conn, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n")
		var all strings.Builder
		buf := make([]byte, 4096)
		replied := false
		for {
			n, err := conn.Read(buf)
			all.Write(buf[:n])
			if tag, _, ok := strings.Cut(all.String(), " STARTTLS\r\n"); ok && !replied {
				fmt.Fprintf(conn, "%s BAD STARTTLS not available\r\n", tag)
				replied = true
			}
			if err != nil {
				received <- all.String()
				return
			}
		}
	}()
	cfg := masteruser.Config{Addr: ln.Addr().String(), Security: masteruser.SecuritySTARTTLS,
		MasterUser: "vmail", MasterPassword: "secret", Timeout: 2 * time.Second}
	wantErr(t, masteruser.Check(context.Background(), cfg, "alice"), masteruser.ErrTLS, "secret")
	if got := <-received; strings.Contains(got, "LOGIN") || strings.Contains(got, "AUTHENTICATE") {
		t.Errorf("client went on after the refusal:\n%s", got)
	}
}
