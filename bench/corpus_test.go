//go:build bench

package bench

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// folders are the corpus's mailboxes, as path components, with the share of
// the messages each gets. A non-ASCII name and two levels of nesting are
// what mirror tools most often get wrong.
var folders = []struct {
	path   []string
	weight int
}{
	{[]string{"INBOX"}, 30},
	{[]string{"Archive"}, 18},
	{[]string{"Sent"}, 12},
	{[]string{"Lists"}, 8},
	{[]string{"Lists", "golang-nuts"}, 8},
	{[]string{"Work"}, 6},
	{[]string{"Work", "Projects"}, 5},
	{[]string{"Work", "Projects", "2024"}, 3},
	{[]string{"Entwürfe"}, 3},
	{[]string{"Receipts"}, 4},
	{[]string{"Travel"}, 3},
}

// keywords are the IMAP keywords the corpus sets; mbsync is known to drop
// them, which the verification reports.
var keywords = []string{"$Forwarded", "$Label1", "Project-X"}

// kind is a message's size class.
type kind int

const (
	small  kind = iota // 2–20 KB, plain text
	medium             // 0.1–1 MB, with an attachment
	large              // about 10 MB
	huge               // 50 MB: the one message a streaming copy must not hold
)

// spec is one message of the corpus: everything needed to write it again,
// byte for byte, from the seed.
type spec struct {
	Folder    int
	Seq       int
	Kind      kind
	Target    int // approximate size in bytes
	Flags     []string
	Keywords  []string
	Date      time.Time // INTERNALDATE
	MessageID string
	Size      int64 // exact size, known once written
}

// corpus is a deterministic set of n messages.
type corpus struct {
	Seed uint64
	Msgs []spec
}

// bigCounts scales the big messages with n: 2% medium, one 10 MB message
// per 1,250 (at least one), and always the single 50 MB one, because that
// message is what the memory bound is about.
func bigCounts(n int) (med, lg, hg int) {
	return n * 2 / 100, max(1, n/1250), 1
}

// newCorpus lays out n messages from seed: which folder, size class, flags
// and dates each gets.
func newCorpus(n int, seed uint64) *corpus {
	r := rand.New(rand.NewPCG(seed, 0))
	c := &corpus{Seed: seed, Msgs: make([]spec, n)}
	kinds := kindsFor(n, r)
	for i := range c.Msgs {
		m := &c.Msgs[i]
		m.Seq, m.Kind = i, kinds[i]
		m.Folder = pickFolder(i, r)
		m.Target = targetSize(m.Kind, r)
		m.Flags, m.Keywords = pickFlags(r)
		m.Date = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(int64(10 * 365 * 24 * time.Hour)))).Truncate(time.Second)
		m.MessageID = fmt.Sprintf("<%s.%06d.%x@bench.mailpull.example>", m.Date.Format("20060102150405"), i, seed)
	}
	return c
}

// kindsFor places the big messages at random positions.
func kindsFor(n int, r *rand.Rand) []kind {
	kinds := make([]kind, n)
	med, lg, hg := bigCounts(n)
	perm := r.Perm(n)
	for _, k := range []struct {
		kind  kind
		count int
	}{{huge, hg}, {large, lg}, {medium, med}} {
		for ; k.count > 0 && len(perm) > 0; k.count-- {
			kinds[perm[0]] = k.kind
			perm = perm[1:]
		}
	}
	return kinds
}

// pickFolder spreads messages by weight; the first messages go one to each
// folder so that none is empty, even for a tiny n.
func pickFolder(i int, r *rand.Rand) int {
	if i < len(folders) {
		return i
	}
	total := 0
	for _, f := range folders {
		total += f.weight
	}
	x := r.IntN(total)
	for j, f := range folders {
		if x < f.weight {
			return j
		}
		x -= f.weight
	}
	return 0
}

// logUniform is a size between lo and hi with small sizes more likely, as
// in real mailboxes.
func logUniform(r *rand.Rand, lo, hi float64) int {
	return int(lo * math.Exp(r.Float64()*math.Log(hi/lo)))
}

func targetSize(k kind, r *rand.Rand) int {
	switch k {
	case medium:
		return logUniform(r, 100<<10, 1<<20)
	case large:
		return 10<<20 - 512<<10 + r.IntN(1<<20)
	case huge:
		return 50 << 20
	}
	return logUniform(r, 2<<10, 20<<10)
}

// pickFlags: most mail read, some answered, flagged, drafts or keywords.
func pickFlags(r *rand.Rand) (flags, kw []string) {
	if r.IntN(100) < 70 {
		flags = append(flags, `\Seen`)
	}
	if r.IntN(100) < 15 {
		flags = append(flags, `\Answered`)
	}
	if r.IntN(100) < 8 {
		flags = append(flags, `\Flagged`)
	}
	if r.IntN(100) < 2 {
		flags = append(flags, `\Draft`)
	}
	for _, k := range keywords {
		if r.IntN(100) < 5 {
			kw = append(kw, k)
		}
	}
	return flags, kw
}

// words are the vocabulary of the generated text.
var words = strings.Fields(`the of and to in is that for it as was with be by on not he this are or
his from at which but have an they you were her she there been one all we their has would when if
so no will more can about said meeting project invoice report schedule thanks regards please attached
review update mailbox server folder message delivery Dovecot mirror backup weekend Zürich Straße grüße`)

// write writes message m, exactly as the corpus defines it, and returns its
// size. Each message has its own PRNG stream, so it can be written alone.
func (c *corpus) write(w io.Writer, m *spec) (int64, error) {
	r := rand.New(rand.NewPCG(c.Seed, uint64(m.Seq)+1))
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := &countWriter{w: bw}
	c.writeHeader(cw, m, r)
	if m.Kind == small {
		fmt.Fprintf(cw, "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		writeText(cw, r, m.Target-int(cw.n))
	} else {
		writeMultipart(cw, r, m)
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	return cw.n, cw.err
}

func (c *corpus) writeHeader(w io.Writer, m *spec, r *rand.Rand) {
	sent := m.Date.Add(-time.Duration(r.IntN(3600)) * time.Second)
	from := fmt.Sprintf("%s %s <%s@example.net>", words[r.IntN(len(words))], words[r.IntN(len(words))], words[r.IntN(len(words))])
	fmt.Fprintf(w, "Return-Path: <bounce-%d@lists.example.net>\r\n", m.Seq)
	fmt.Fprintf(w, "Received: from mx%d.example.net (mx%d.example.net [192.0.2.%d])\r\n\tby imap.example.com with ESMTPS id %08x\r\n\tfor <remote@example.com>; %s\r\n",
		m.Seq%7, m.Seq%7, m.Seq%250+1, r.Uint32(), m.Date.Format(time.RFC1123Z))
	fmt.Fprintf(w, "Date: %s\r\nFrom: %s\r\nTo: Remote User <remote@example.com>\r\n", sent.Format(time.RFC1123Z), from)
	fmt.Fprintf(w, "Subject: %s %d\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n", sentence(r, 6), m.Seq, m.MessageID)
}

// writeText writes about n bytes of text in lines of at most 76 octets.
func writeText(w io.Writer, r *rand.Rand, n int) {
	var line strings.Builder
	for written := 0; written < n; {
		word := words[r.IntN(len(words))]
		if line.Len()+len(word)+1 > 76 {
			line.WriteString("\r\n")
			written += line.Len()
			io.WriteString(w, line.String())
			line.Reset()
		}
		if line.Len() > 0 {
			line.WriteByte(' ')
		}
		line.WriteString(word)
	}
	io.WriteString(w, line.String()+"\r\n")
}

// writeMultipart is a short text and a base64 attachment of random bytes
// (incompressible, as real attachments mostly are).
func writeMultipart(w *countWriter, r *rand.Rand, m *spec) {
	boundary := fmt.Sprintf("=_bench_%016x", r.Uint64())
	fmt.Fprintf(w, "Content-Type: multipart/mixed; boundary=%q\r\n\r\n", boundary)
	fmt.Fprintf(w, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", boundary)
	writeText(w, r, 600)
	fmt.Fprintf(w, "--%s\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n", boundary)
	fmt.Fprintf(w, "Content-Disposition: attachment; filename=\"file-%d.bin\"\r\n\r\n", m.Seq)
	raw := max(0, (m.Target-int(w.n)-200)/78*57)
	line, enc := make([]byte, 57), make([]byte, 76)
	for ; raw > 0; raw -= 57 {
		for i := range line {
			line[i] = byte(r.Uint32())
		}
		base64.StdEncoding.Encode(enc, line)
		w.Write(enc)
		io.WriteString(w, "\r\n")
	}
	fmt.Fprintf(w, "--%s--\r\n", boundary)
}

func sentence(r *rand.Rand, n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = words[r.IntN(len(words))]
	}
	return strings.Join(s, " ")
}

// countWriter counts what it writes and keeps the first error, so the
// generator can write without checking every call.
type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

// totalBytes is the corpus size, once written.
func (c *corpus) totalBytes() int64 {
	var n int64
	for _, m := range c.Msgs {
		n += m.Size
	}
	return n
}
