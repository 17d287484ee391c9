// Package hostile is a test helper: a loopback proxy in front of a real IMAP
// server that rewrites, drops, holds back or cuts the server's responses, so
// that tests can play a misbehaving server while a real one keeps the state
// honest. Only tests import it.
package hostile

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"regexp"
	"strconv"
	"sync"
	"testing"
)

// Then is what happens after an Action's bytes are sent.
type Then int

const (
	Continue Then = iota // go on forwarding
	Stall                // forward nothing more, keep the connection open
	Cut                  // close both ends
)

// Action is a Rule's verdict on one server response.
type Action struct {
	Send []byte // written to the client in place of the response
	Then Then
}

// Forward passes a response unchanged.
func Forward(resp []byte) Action { return Action{Send: resp} }

// Rule sees each complete server response (a line with its literals), with
// the last command line the client sent before it, and decides.
type Rule func(cmd string, resp []byte) Action

// Proxy forwards loopback connections to target through a Rule.
type Proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	rule  Rule
	conns []net.Conn
}

// Start listens on a free loopback port; the proxy stops at cleanup.
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target}
	t.Cleanup(p.close)
	go p.serve()
	return p
}

// Addr is where clients connect.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetRule replaces the rule for the responses read from now on; nil
// forwards everything.
func (p *Proxy) SetRule(r Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rule = r
}

func (p *Proxy) apply(cmd string, resp []byte) Action {
	p.mu.Lock()
	r := p.rule
	p.mu.Unlock()
	if r == nil {
		return Forward(resp)
	}
	return r(cmd, resp)
}

func (p *Proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

func (p *Proxy) forward(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, client, server)
	p.mu.Unlock()
	closeBoth := sync.OnceFunc(func() { client.Close(); server.Close() })
	var last lastCommand
	go func() {
		defer closeBoth()
		copyCommands(server, client, &last)
	}()
	p.responses(client, server, &last, closeBoth)
}

// responses passes the server's responses through the rule. A stalled
// connection stays open until the client or the test ends it.
func (p *Proxy) responses(client, server net.Conn, last *lastCommand, closeBoth func()) {
	br := bufio.NewReader(server)
	for {
		resp, err := ReadResponse(br)
		if err != nil {
			closeBoth()
			return
		}
		a := p.apply(last.get(), resp)
		if _, err := client.Write(a.Send); err != nil {
			closeBoth()
			return
		}
		switch a.Then {
		case Cut:
			closeBoth()
			return
		case Stall:
			io.Copy(io.Discard, server) // until the server or the client side closes
			closeBoth()
			return
		}
	}
}

// lastCommand is the last command line the client sent.
type lastCommand struct {
	mu   sync.Mutex
	line string
}

func (l *lastCommand) get() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.line
}

func (l *lastCommand) set(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.line = s
}

// copyCommands forwards the client's bytes as they come (a synchronizing
// literal waits for the server's "+"), noting each command line.
func copyCommands(server io.Writer, client io.Reader, last *lastCommand) {
	br := bufio.NewReader(client)
	inCommand := false
	for {
		line, err := br.ReadBytes('\n')
		if !inCommand && len(line) > 0 {
			last.set(firstLine(line))
		}
		if _, werr := server.Write(line); werr != nil || err != nil {
			return
		}
		m := literalAtEnd.FindSubmatch(line)
		inCommand = m != nil
		if m == nil {
			continue
		}
		n, _ := strconv.ParseInt(string(m[1]), 10, 64)
		if _, err := io.CopyN(server, br, n); err != nil {
			return
		}
	}
}

func firstLine(b []byte) string {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return string(bytes.TrimRight(b, "\r"))
}

var literalAtEnd = regexp.MustCompile(`\{(\d+)\+?\}\r?\n$`)

// ReadResponse reads one line and every literal it announces, up to the
// line that ends it. What was read before an error is returned with it.
func ReadResponse(br *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		line, err := br.ReadBytes('\n')
		out = append(out, line...)
		if err != nil {
			return out, err
		}
		m := literalAtEnd.FindSubmatch(line)
		if m == nil {
			return out, nil
		}
		n, _ := strconv.Atoi(string(m[1]))
		lit := make([]byte, n)
		k, err := io.ReadFull(br, lit)
		out = append(out, lit[:k]...)
		if err != nil {
			return out, err
		}
	}
}
