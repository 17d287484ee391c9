package folders

import (
	"bufio"
	"net"
	"strings"
	"testing"
)

// scripted is a loopback IMAP server that answers with canned lines, for
// replies no real server sends on demand (names go-imap cannot decode).
type scripted struct {
	caps string   // CAPABILITY line after "* CAPABILITY "
	list []string // LIST lines, sent verbatim with CRLF
	ns   string   // NAMESPACE line after "* NAMESPACE ", empty for none
}

// start serves s on 127.0.0.1 until the test ends and returns the address.
func (s scripted) start(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(conn)
		}
	}()
	return ln.Addr().String()
}

func (s scripted) serve(conn net.Conn) {
	defer conn.Close()
	w := bufio.NewWriter(conn)
	send := func(lines ...string) {
		for _, l := range lines {
			w.WriteString(l + "\r\n")
		}
		w.Flush()
	}
	send("* OK [CAPABILITY " + s.caps + "] scripted ready")
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		tag, cmd, _ := strings.Cut(sc.Text(), " ")
		verb, _, _ := strings.Cut(strings.ToUpper(cmd), " ")
		switch verb {
		case "LOGIN":
			send(tag + " OK [CAPABILITY " + s.caps + "] logged in")
		case "CAPABILITY":
			send("* CAPABILITY "+s.caps, tag+" OK done")
		case "NAMESPACE":
			if s.ns == "" {
				send(tag + " BAD no namespace")
				continue
			}
			send("* NAMESPACE "+s.ns, tag+" OK done")
		case "LIST":
			send(s.list...)
			send(tag + " OK LIST done")
		case "NOOP":
			send(tag + " OK done")
		case "ID":
			send(`* ID ("name" "Dovecot")`, tag+" OK ID completed")
		case "LOGOUT":
			send("* BYE bye", tag+" OK done")
			return
		default:
			send(tag + " BAD unknown")
		}
	}
}
