package remote

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
)

// upgrade does STARTTLS (RFC 3501 §6.2.1) itself instead of leaving it to
// go-imap, so that the folder-name guard can sit above TLS, where it reads
// IMAP and not ciphertext. It never falls back: any answer but OK ends the
// session before a password is sent. Bytes the server sends after its OK and
// before the handshake are refused, not read as IMAP (the STARTTLS command
// injection of CVE-2011-0411's kind).
func upgrade(conn net.Conn, cfg *Config) (net.Conn, error) {
	r := bufio.NewReader(conn)
	greeting, err := readLine(r)
	if err != nil {
		return nil, fmt.Errorf("%s: greeting: %w", cfg.Addr(), temporary(err))
	}
	if !strings.HasPrefix(greeting, "* OK") {
		return nil, fmt.Errorf("%s: greeting %q: STARTTLS needs a plain OK greeting: %w", cfg.Addr(), clip(greeting), ErrStartTLS)
	}
	if _, err := io.WriteString(conn, "m0 STARTTLS\r\n"); err != nil {
		return nil, fmt.Errorf("%s: STARTTLS: %w", cfg.Addr(), temporary(err))
	}
	if err := awaitOK(r, cfg); err != nil {
		return nil, err
	}
	if r.Buffered() > 0 {
		return nil, fmt.Errorf("%s: data injected after STARTTLS OK: %w", cfg.Addr(), ErrStartTLS)
	}
	tc, err := tlsClient(conn, cfg)
	if err != nil {
		return nil, err
	}
	return &greeted{Conn: tc, pending: "* OK TLS established\r\n"}, nil
}

func awaitOK(r *bufio.Reader, cfg *Config) error {
	for {
		line, err := readLine(r)
		if err != nil {
			return fmt.Errorf("%s: STARTTLS: %w", cfg.Addr(), temporary(err))
		}
		if !strings.HasPrefix(line, "m0 ") {
			continue // untagged data, such as a CAPABILITY
		}
		if strings.HasPrefix(strings.ToUpper(line), "M0 OK") {
			return nil
		}
		return fmt.Errorf("%s: STARTTLS refused (%s): %w", cfg.Addr(), clip(line), ErrStartTLS)
	}
}

// readLine reads one CRLF line of at most 8 KiB.
func readLine(r *bufio.Reader) (string, error) {
	var b strings.Builder
	for b.Len() < 8192 {
		chunk, more, err := r.ReadLine()
		if err != nil {
			return "", err
		}
		b.Write(chunk)
		if !more {
			return b.String(), nil
		}
	}
	return "", errors.New("line too long")
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// greeted hands go-imap the greeting it waits for; the server said its own
// before STARTTLS.
type greeted struct {
	net.Conn
	pending string
}

func (g *greeted) Read(p []byte) (int, error) {
	if g.pending != "" {
		n := copy(p, g.pending)
		g.pending = g.pending[n:]
		return n, nil
	}
	return g.Conn.Read(p)
}
