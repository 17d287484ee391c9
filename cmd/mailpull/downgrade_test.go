package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// downgradeProxy stands between mailpull and a Dovecot as an attacker on
// the path would: it strips STARTTLS from the capabilities ("strip"), and
// also answers the STARTTLS command with BAD itself ("strip+bad"). A
// STARTTLS it lets through ("strip") is then a TLS session it only relays.
// It keeps what the client sent in clear.
type downgradeProxy struct {
	ln    net.Listener
	mode  string
	mu    sync.Mutex
	sent  strings.Builder
	tag   string // of a STARTTLS let through
	conns int
}

var startTLSCmd = regexp.MustCompile(`(?i)^(\S+) STARTTLS\r\n$`)

func newDowngradeProxy(t *testing.T, target, mode string) *downgradeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &downgradeProxy{ln: ln, mode: mode}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c, target)
		}
	}()
	return p
}

func (p *downgradeProxy) serve(client net.Conn, target string) {
	defer client.Close()
	server, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer server.Close()
	p.mu.Lock()
	p.conns++
	p.mu.Unlock()
	var wmu sync.Mutex // the client's writes: server lines and the proxy's BAD
	toClient := func(s string) {
		wmu.Lock()
		defer wmu.Unlock()
		client.Write([]byte(s))
	}
	go p.fromServer(bufio.NewReader(server), client, toClient)
	r := bufio.NewReader(client)
	for {
		line, err := r.ReadString('\n')
		p.mu.Lock()
		p.sent.WriteString(line)
		p.mu.Unlock()
		m := startTLSCmd.FindStringSubmatch(line)
		switch {
		case m != nil && p.mode == "strip+bad":
			toClient(m[1] + " BAD STARTTLS not available\r\n")
			continue
		case m != nil:
			p.mu.Lock()
			p.tag = m[1]
			p.mu.Unlock()
			server.Write([]byte(line))
			io.Copy(server, r) // TLS from here on
			return
		}
		if _, werr := server.Write([]byte(line)); werr != nil || err != nil {
			return
		}
	}
}

// fromServer relays the server's lines without STARTTLS in the
// capabilities, until the OK to a STARTTLS let through: then the bytes.
func (p *downgradeProxy) fromServer(r *bufio.Reader, client net.Conn, toClient func(string)) {
	defer client.Close()
	for {
		line, err := r.ReadString('\n')
		if strings.Contains(line, "CAPABILITY") {
			line = strings.ReplaceAll(line, " STARTTLS", "")
		}
		toClient(line)
		if err != nil {
			return
		}
		p.mu.Lock()
		tls := p.tag != "" && strings.HasPrefix(line, p.tag+" OK")
		p.mu.Unlock()
		if tls {
			io.Copy(client, r)
			return
		}
	}
}

// checkNoLogin fails when the client sent credentials through the proxy,
// or never came.
func (p *downgradeProxy) checkNoLogin(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == 0 {
		t.Fatal("mailpull never connected through the proxy")
	}
	sent := strings.ToUpper(p.sent.String())
	if strings.Contains(sent, " LOGIN ") || strings.Contains(sent, " AUTHENTICATE ") {
		t.Errorf("mailpull logged in after the downgrade:\n%s", p.sent.String())
	}
}

// A man in the middle who refuses STARTTLS ends the task with exit 77 and
// no password sent, toward the remote (task add, and sync) and toward the
// local Dovecot when the configuration asks for STARTTLS there. One who
// only strips it from the capabilities changes nothing: mailpull asks for
// STARTTLS whatever the capabilities say, so the session is TLS all the
// same.
func TestSTARTTLSDowngrade(t *testing.T) {
	for _, c := range []struct {
		mode string
		code int
	}{{"strip", ExitOK}, {"strip+bad", ExitNoPerm}} {
		t.Run("remote "+c.mode, func(t *testing.T) {
			w := newWorld(t)
			p := newDowngradeProxy(t, w.remote.Addr, c.mode)
			host, port, _ := net.SplitHostPort(p.ln.Addr().String())
			add := []string{"--config", w.cfg, "task", "add", "--local-user", "alice", "--host", host, "--port", port,
				"--security", "starttls", "--tls-ca", w.remote.CA.CAFile, "--user", w.remote.User, "--password-file", w.remotePasswordFile(t)}
			code, _, errOut := runCLI(t, add...)
			if code != c.code || (code != ExitOK && !strings.Contains(errOut, "STARTTLS")) || strings.Contains(errOut, w.remote.Password) {
				t.Errorf("task add: exit %d (want %d): %s", code, c.code, errOut)
			}
			code, out, errOut := runCLI(t, append(add, "--no-check")...)
			if code != ExitOK {
				t.Fatalf("task add --no-check: exit %d: %s", code, errOut)
			}
			code, _, errOut = runCLI(t, "--config", w.cfg, "sync", strings.TrimSpace(out))
			if code != c.code || (code != ExitOK && !strings.Contains(errOut, "STARTTLS")) {
				t.Errorf("sync: exit %d (want %d): %s", code, c.code, errOut)
			}
			p.checkNoLogin(t)
		})
		t.Run("local "+c.mode, func(t *testing.T) {
			w := newWorld(t)
			w.remote.Put(t, "INBOX", corpus(3)...)
			id := w.addTask(t)
			p := newDowngradeProxy(t, w.local.IMAPAddr, c.mode)
			w.cfg = writeConfig(t, fmt.Sprintf("state_dir = %q\ntasks_dir = %q\ncredentials_dir = %q\n[dovecot]\nimap = %q\n"+
				"security = \"starttls\"\nca_file = %q\nmaster_user = %q\nmaster_password_file = %q\n",
				filepath.Join(w.dir, "state"), filepath.Join(w.dir, "tasks"), filepath.Join(w.dir, "credentials"),
				p.ln.Addr().String(), w.local.CA.CAFile, w.local.MasterUser, w.local.MasterPasswordFile))
			code, _, errOut := runCLI(t, "--config", w.cfg, "sync", id)
			if code != c.code || (code != ExitOK && !strings.Contains(errOut, "STARTTLS")) || strings.Contains(errOut, w.local.MasterPassword) {
				t.Errorf("sync: exit %d (want %d): %s", code, c.code, errOut)
			}
			p.checkNoLogin(t)
			if got, want := len(w.local.Read(t, "alice")["INBOX"]), map[bool]int{true: 3, false: 0}[c.code == ExitOK]; got != want {
				t.Errorf("alice's INBOX has %d messages, want %d", got, want)
			}
		})
	}
}

func (w *world) remotePasswordFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(p, []byte(w.remote.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
