package inbox

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailpull/mailpull/internal/rig"
	"github.com/mailpull/mailpull/sync/internal/hostile"
)

// hostileInbox is what the remote INBOX holds by APPEND, each message odd
// in one way. Dovecot stores some of them its own way, and the remote's
// FETCH is what a delivery must carry byte for byte: a bare LF is served
// as CRLF, a NUL byte as 0x80.
func hostileInbox() []rig.Message {
	long := strings.Repeat("0123456789", 1000)
	bodies := []string{
		"From: a@example.net\r\nSubject: no-message-id\r\n\r\nNo Message-ID here.\r\n",
		"From: a@example.net\r\nMessage-ID: <same@example.net>\r\nSubject: dup-1\r\n\r\nFirst.\r\n",
		"From: a@example.net\r\nMessage-ID: <same@example.net>\r\nSubject: dup-2\r\n\r\nSecond.\r\n",
		"From: a@example.net\r\nMessage-ID: <same@example.net>\r\nSubject: dup-2\r\n\r\nSecond.\r\n", // identical twin
		"From: a@example.net\nMessage-ID: <lf@example.net>\nSubject: bare-lf\n\nline one\nline two\n.\nafter a lone dot\n",
		"From: a@example.net\r\nMessage-ID: <nul@example.net>\r\nSubject: nul\r\n\r\nbefore\x00after\r\n",
		"Return-Path: <j\xf6rg@example.net>\r\nFrom: J\xf6rg <a@example.net>\r\nMessage-ID: <latin1@example.net>\r\nSubject: 8bit-\xe9t\xe9\r\n\r\nLatin-1.\r\n",
		"From: a@example.net\r\nMessage-ID: <bad@example.net>\r\nSubject: invalid-utf8-\xc3\x28\xff\xfe\r\n\r\n\xed\xa0\x80 surrogate\r\n",
		"From: a@example.net\r\nMessage-ID: <long@example.net>\r\nSubject: long-lines\r\nX-Long: " + long + "\r\n\r\n" + long + "\r\n" + long + long + "\r\n",
		"From: a@example.net\r\nMessage-ID: <big@example.net>\r\nSubject: big\r\n\r\n" + strings.Repeat(strings.Repeat("x", 76)+"\r\n", 50<<20/78),
	}
	out := make([]rig.Message, len(bodies))
	for i, b := range bodies {
		out[i] = rig.Message{Date: time.Date(2023, 7, 1, 9+i, 0, 0, 0, time.UTC), Body: []byte(b)}
	}
	out[1].Flags = []imap.Flag{imap.FlagFlagged}
	return out
}

// Files put straight into the remote maildir: what IMAP would refuse, and
// sizes in the file name that lie (Dovecot believes ",W=" for RFC822.SIZE
// and the literal's length).
var hostileFiles = []struct{ name, body string }{
	{"1700000001.M1P1.rig", "From: a@example.net\nMessage-ID: <d1@example.net>\nSubject: disk-1\n\nfirst\n"},
	{"1700000002.M1P1.rig,S=0,W=0", ""}, // a 0-byte message
	// 600 stated, 36 there: Dovecot sends 36 bytes of a literal of 600 and
	// closes the connection, on every FETCH of it.
	{"1700000003.M1P1.rig,S=500,W=600", "Subject: lies-larger\n\nshort body\n"},
	// 10 stated: Dovecot sends the first 10 bytes and says OK.
	{"1700000004.M1P1.rig,S=48,W=10", "Subject: lies-smaller\n\nthe rest is never served\n"},
	{"1700000005.M1P1.rig", "From: a@example.net\nMessage-ID: <d5@example.net>\nSubject: disk-5\n\nlast\n"},
}

// Hostile messages in the remote INBOX, delivered through LMTP each with
// the bytes the remote served after the header fields mailpull adds, or,
// for the one the server cannot serve, failed alone with its reason while
// the rest is delivered; a second run delivers nothing twice and fails
// the same one.
func TestHostileMessagesInboxOnDovecot(t *testing.T) {
	w := newWorld(t, rig.LocalOptions{})
	w.remote.Put(t, "INBOX", hostileInbox()...)
	served := [][]byte{}
	for _, m := range w.remote.Read(t)["INBOX"] { // before the files, which break a FETCH 1:*
		served = append(served, m.Body)
	}
	for _, f := range hostileFiles {
		w.remote.PutFile(t, "INBOX", f.name, []byte(f.body))
	}
	served = append(served,
		[]byte("From: a@example.net\r\nMessage-ID: <d1@example.net>\r\nSubject: disk-1\r\n\r\nfirst\r\n"),
		[]byte{},                 // the 0-byte message: delivered as the header fields mailpull adds
		[]byte("Subject: l\r\n"), // the first 10 bytes; LMTP data ends with CRLF (RFC 5321 §4.1.1.4)
		[]byte("From: a@example.net\r\nMessage-ID: <d5@example.net>\r\nSubject: disk-5\r\n\r\nlast\r\n"))
	for run := 1; run <= 2; run++ {
		sum := w.run(t, ErrPartial)
		if want := map[int]int{1: len(served), 2: 0}[run]; sum.Delivered != want {
			t.Errorf("run %d delivered %d, want %d", run, sum.Delivered, want)
		}
		if len(sum.Failed) != 1 || sum.Failed[0].UID != 13 || !strings.Contains(sum.Failed[0].Error(), "36 of the 600 bytes") {
			t.Errorf("run %d failures %v, want UID 13 alone, cut after 36 of 600 bytes", run, sum.Failed)
		}
		w.sameAsServed(t, served)
	}
}

// sameAsServed wants alice to hold each served body once, after the
// origin header, and nothing else.
func (w *world) sameAsServed(t *testing.T, served [][]byte) {
	t.Helper()
	var got [][]byte
	for _, msgs := range w.local.Read(t, "alice") {
		for _, m := range msgs {
			got = append(got, afterOrigin(t, m.Body))
		}
	}
	want := slices.Clone(served)
	slices.SortFunc(want, bytes.Compare)
	slices.SortFunc(got, bytes.Compare)
	if !slices.EqualFunc(got, want, bytes.Equal) {
		t.Errorf("alice holds %d messages, want %d as served:\n%s", len(got), len(want), diffBodies(got, want))
	}
}

// afterOrigin is what follows the origin header, the last field mailpull
// adds in front of the remote message.
func afterOrigin(t *testing.T, body []byte) []byte {
	i := bytes.Index(body, []byte(OriginHeader+": "))
	j := bytes.Index(body[max(i, 0):], []byte("\r\n"))
	if i < 0 || j < 0 {
		t.Errorf("no origin header in %q", body[:min(len(body), 200)])
		return body
	}
	return body[i+j+2:]
}

func diffBodies(got, want [][]byte) string {
	var b strings.Builder
	for _, g := range got {
		if !slices.ContainsFunc(want, func(w []byte) bool { return bytes.Equal(g, w) }) {
			b.WriteString("unexpected " + short(g) + "\n")
		}
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g []byte) bool { return bytes.Equal(g, w) }) {
			b.WriteString("missing " + short(w) + "\n")
		}
	}
	return b.String()
}

func short(b []byte) string {
	if len(b) > 120 {
		return strings.ReplaceAll(string(b[:120]), "\r\n", "|") + "…"
	}
	return strings.ReplaceAll(string(b), "\r\n", "|")
}

// Bytes no Dovecot serves, on the wire through a proxy: UID 1's body with
// bare LF line ends, UID 2's with a raw NUL byte, and RFC822.SIZE lying
// for UIDs 3 (larger) and 4 (smaller). Each is delivered once: LMTP data
// has CRLF line ends (go-smtp writes them), the local Dovecot serves NUL as
// 0x80, and a size that lies changes nothing.
func TestHostileWireBytesInboxOnDovecot(t *testing.T) {
	w, proxy, _ := hostileWorld(t, 5)
	var served [][]byte
	for _, m := range w.remote.Read(t)["INBOX"] {
		served = append(served, m.Body)
	}
	proxy.SetRule(func(_ string, resp []byte) hostile.Action {
		f, ok := hostile.ParseFetch(resp)
		switch {
		case !ok:
		case f.UID == 3:
			resp = sizeItem.ReplaceAll(resp, []byte("RFC822.SIZE 999999999"))
		case f.UID == 4:
			resp = sizeItem.ReplaceAll(resp, []byte("RFC822.SIZE 1"))
		case f.Body && f.UID == 1:
			resp = rewriteLiteral(resp, f, func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")) })
		case f.Body && f.UID == 2:
			resp = rewriteLiteral(resp, f, func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("Hello"), []byte("He\x00lo")) })
		}
		return hostile.Forward(resp)
	})
	served[1] = bytes.ReplaceAll(served[1], []byte("Hello"), []byte("He\x80lo"))
	for run := 1; run <= 2; run++ {
		if sum := w.run(t, nil); sum.Delivered != map[int]int{1: 5, 2: 0}[run] || len(sum.Failed) != 0 {
			t.Fatalf("run %d: %+v", run, sum)
		}
		w.sameAsServed(t, served)
	}
}

var (
	sizeItem   = regexp.MustCompile(`RFC822\.SIZE \d+`)
	literalEnd = regexp.MustCompile(`\{\d+\}\r\n$`)
)

// rewriteLiteral replaces the first literal of a response, and its length.
func rewriteLiteral(resp []byte, f hostile.Fetch, change func([]byte) []byte) []byte {
	head := resp[:f.Literal]
	loc := literalEnd.FindIndex(head)
	n, _ := strconv.Atoi(string(head[loc[0]+1 : loc[1]-3]))
	data := change(resp[f.Literal : f.Literal+n])
	out := append([]byte{}, head[:loc[0]]...)
	out = fmt.Appendf(out, "{%d}\r\n", len(data))
	out = append(out, data...)
	return append(out, resp[f.Literal+n:]...)
}
