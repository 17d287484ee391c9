package folders

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Why a connection guard rather than narrower LIST patterns: go-imap
// (v2.0.0-beta.8) closes the connection on the first LIST name it cannot
// decode, and the names after it are lost. IMAP patterns (RFC 3501 §6.3.8)
// have wildcards but no exclusion, so no pattern lists the siblings of a bad
// name without the bad name itself; narrowing by leading characters cannot
// reach names whose first character is not ASCII, and each failure costs a
// new login. The guard instead reads the server's replies before go-imap
// does and rewrites only the LIST and LSUB lines whose name go-imap would
// reject, so one connection lists the whole account.

// undecodableAttr marks a LIST line the guard rewrote; the name of such a
// line is undecodablePrefix followed by the hex of the name the server sent.
const (
	undecodableAttr   = `\X-Mailpull-Undecodable`
	undecodablePrefix = "mailpull-undecodable-"
	maxLiteralName    = 64 << 10
)

// Guard wraps the plaintext IMAP stream of a connection, between TLS and
// go-imap: imapclient.New(folders.Guard(tlsConn), opts). LIST and LSUB
// replies whose mailbox name go-imap cannot decode (a bare "&", malformed or
// non-canonical modified UTF-7, 8-bit bytes; RFC 3501 §5.1.3) reach go-imap
// with a placeholder name and a private attribute, and List reports them in
// Listing.Undecodable instead of losing the connection. Everything else,
// message literals included, passes through unchanged.
//
// With STARTTLS the upgrade must happen below the guard: go-imap's own
// STARTTLS would make the guard see ciphertext.
func Guard(conn net.Conn) net.Conn {
	return &guardConn{Conn: conn, src: bufio.NewReaderSize(conn, 64<<10)}
}

type guardConn struct {
	net.Conn
	src     *bufio.Reader
	out     []byte // rewritten bytes not yet read by go-imap
	literal int    // bytes of a literal still to pass through untouched
	midLine bool   // the next bytes continue a line, not start a response
}

func (g *guardConn) Read(p []byte) (int, error) {
	if len(g.out) == 0 && g.literal > 0 {
		if len(p) > g.literal {
			p = p[:g.literal]
		}
		n, err := g.src.Read(p)
		g.literal -= n
		return n, err
	}
	if len(g.out) == 0 {
		if err := g.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, g.out)
	g.out = g.out[n:]
	return n, nil
}

// next reads one line, or one buffer-full of a very long line, into g.out.
func (g *guardConn) next() error {
	line, err := g.src.ReadSlice('\n')
	if len(line) == 0 {
		return err
	}
	start := !g.midLine
	g.midLine = !bytes.HasSuffix(line, []byte("\n"))
	g.out = append(g.out[:0], line...)
	if g.midLine {
		return nil
	}
	if start && isIDLine(line) {
		g.out = append(g.out[:0], idNil...)
		return nil
	}
	n, ok := literalSize(line)
	if start && isListLine(line) {
		return g.rewriteList(n, ok)
	}
	if ok {
		g.literal, g.midLine = n, true
	}
	return nil
}

// literalSize reads the "{n}" or "{n+}" that ends a line announcing a
// literal (RFC 3501 §4.3).
func literalSize(line []byte) (int, bool) {
	s := strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")
	if !strings.HasSuffix(s, "}") {
		return 0, false
	}
	i := strings.LastIndexByte(s, '{')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(s[i+1:len(s)-1], "+"))
	return n, err == nil && n >= 0
}

// idNil replaces the server's ID reply (RFC 2971). go-imap beta.8 reads it
// with ExpectNIL first, which leaves a sticky decoder error when the server
// sends a list, as Dovecot does: Close then fails with "expected atom". mailpull has no use for the server's ID, so it never reaches go-imap.
var idNil = []byte("* ID NIL\r\n")

func isIDLine(line []byte) bool {
	return len(line) >= 5 && strings.EqualFold(string(line[:5]), "* ID ")
}

func isListLine(line []byte) bool {
	if len(line) < 7 {
		return false
	}
	verb := strings.ToUpper(string(line[:7]))
	return verb == "* LIST " || verb == "* LSUB "
}

// rewriteList checks the mailbox name of the LIST line in g.out. n and
// literal tell whether the line ends by announcing a literal, which is the
// name itself when nothing follows the delimiter but the literal.
func (g *guardConn) rewriteList(n int, literal bool) error {
	line := g.out
	attrEnd, nameStart, ok := listShape(line)
	if !ok {
		g.literal, g.midLine = n, literal
		return nil
	}
	if literal && line[nameStart] == '{' {
		return g.rewriteLiteralName(attrEnd, nameStart, n)
	}
	raw, nameEnd, ok := readName(line, nameStart)
	if ok && !decodable(raw, line[nameStart] != '"') {
		g.out = placeholder(line[:attrEnd], line[attrEnd:nameStart], raw, line[nameEnd:])
	}
	g.literal, g.midLine = n, literal
	return nil
}

// rewriteLiteralName reads a name sent as a literal and passes it on, or
// its placeholder when go-imap could not decode it.
func (g *guardConn) rewriteLiteralName(attrEnd, nameStart, n int) error {
	if n > maxLiteralName {
		g.literal, g.midLine = n, true
		return nil
	}
	name := make([]byte, n)
	if _, err := io.ReadFull(g.src, name); err != nil {
		return err
	}
	g.midLine = true
	if decodable(string(name), false) {
		g.out = append(g.out, name...)
		return nil
	}
	line := slices.Clone(g.out)
	g.out = placeholder(line[:attrEnd], line[attrEnd:nameStart], string(name), nil)
	return nil
}

// placeholder builds "* LIST (attrs \X-Mailpull-Undecodable) delim "name""
// followed by rest, from the line's head up to the ")" of its attributes.
func placeholder(head, delim []byte, raw string, rest []byte) []byte {
	var b bytes.Buffer
	b.Write(bytes.TrimRight(head, " "))
	if !bytes.HasSuffix(head, []byte("(")) {
		b.WriteByte(' ')
	}
	b.WriteString(undecodableAttr)
	b.Write(delim)
	b.WriteString(`"` + undecodablePrefix + hex.EncodeToString([]byte(raw)) + `"`)
	b.Write(rest)
	return b.Bytes()
}

// listShape finds the ")" closing the attributes of a LIST line and where
// its mailbox name starts (RFC 3501 §7.2.2: "(" attrs ")" SP delim SP name).
func listShape(line []byte) (attrEnd, nameStart int, ok bool) {
	if len(line) < 8 || line[7] != '(' {
		return 0, 0, false
	}
	attrEnd = bytes.IndexByte(line, ')')
	if attrEnd < 0 || attrEnd+2 >= len(line) || line[attrEnd+1] != ' ' {
		return 0, 0, false
	}
	i := attrEnd + 2
	switch {
	case bytes.HasPrefix(bytes.ToUpper(line[i:]), []byte("NIL ")):
		i += 4
	case bytes.HasPrefix(line[i:], []byte(`"\`)) && len(line) > i+5:
		i += 5
	case line[i] == '"' && len(line) > i+4:
		i += 4
	default:
		return 0, 0, false
	}
	if line[i-1] != ' ' || i >= len(line) {
		return 0, 0, false
	}
	return attrEnd, i, true
}

// readName reads a quoted string or an atom at line[i:], as go-imap's
// decoder does, and returns its value and where it ends.
func readName(line []byte, i int) (string, int, bool) {
	if line[i] != '"' {
		j := i
		for j < len(line) && line[j] != ' ' && line[j] != '\r' && line[j] != '\n' {
			j++
		}
		return string(line[i:j]), j, j > i
	}
	var b []byte
	for j := i + 1; j < len(line); j++ {
		switch c := line[j]; c {
		case '"':
			return string(b), j + 1, true
		case '\\':
			j++
			if j < len(line) {
				b = append(b, line[j])
			}
		default:
			b = append(b, c)
		}
	}
	return "", 0, false
}

// decodable mirrors go-imap's mailbox decoding: INBOX in any case, else
// valid UTF-8 that is also valid modified UTF-7 (RFC 3501 §5.1.3; raw UTF-8
// is accepted as well). An atom must consist of ASTRING-CHARs.
func decodable(name string, atom bool) bool {
	if strings.EqualFold(name, "INBOX") {
		return true
	}
	for i := 0; atom && i < len(name); i++ {
		if !isAStringChar(name[i]) {
			return false
		}
	}
	if !utf8.ValidString(name) {
		return false
	}
	return validUTF7(name)
}

// isAStringChar is go-imap's test, byte by byte: it takes 0x80-0x9f for
// control characters, so such bytes end an atom even inside UTF-8.
func isAStringChar(c byte) bool {
	return !strings.ContainsRune(`(){ %*"\`, rune(c)) && !unicode.IsControl(rune(c))
}

// validUTF7 checks modified UTF-7 the way go-imap's decoder does: printable
// ASCII, "&-" for "&", and "&" base64 "-" runs of UTF-16 that encode no
// printable ASCII and do not follow another run directly.
func validUTF7(s string) bool {
	afterRun := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			return false
		}
		if c != '&' {
			afterRun = false
			continue
		}
		end := strings.IndexByte(s[i+1:], '-')
		if end < 0 {
			return false
		}
		run := s[i+1 : i+1+end]
		i += 1 + end
		if run == "" {
			afterRun = false
			continue
		}
		if afterRun || !validRun(run) {
			return false
		}
		afterRun = true
	}
	return true
}

var mutf7 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

// validRun checks one base64 run: whole UTF-16 code units, paired
// surrogates, and no character that should have been written as ASCII.
func validRun(run string) bool {
	if strings.ContainsAny(run, "\r\n=") {
		return false
	}
	b, err := mutf7.DecodeString(run)
	if err != nil || len(b) == 0 || len(b)%2 == 1 {
		return false
	}
	for i := 0; i < len(b); i += 2 {
		r := rune(b[i])<<8 | rune(b[i+1])
		if utf16.IsSurrogate(r) {
			if i += 2; i == len(b) || utf16.DecodeRune(r, rune(b[i])<<8|rune(b[i+1])) == utf8.RuneError {
				return false
			}
		} else if r >= 0x20 && r <= 0x7e {
			return false
		}
	}
	return true
}
