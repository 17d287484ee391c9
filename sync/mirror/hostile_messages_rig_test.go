package mirror

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/internal/rig"
	"github.com/mailpull/mailpull/sync/folders"
	"github.com/mailpull/mailpull/sync/internal/hostile"
)

// hostileMessages are messages a real Dovecot takes by APPEND, each named
// by its Subject. Dovecot stores some of them its own way, and the remote's
// FETCH is what a copy must equal byte for byte: a bare LF is served as
// CRLF, a NUL byte as 0x80.
func hostileMessages() []rig.Message {
	date := time.Date(2023, 7, 1, 9, 0, 0, 0, time.UTC)
	long := strings.Repeat("0123456789", 1000)
	bodies := []string{
		"From: a@example.net\r\nSubject: no-message-id\r\n\r\nNo Message-ID here.\r\n",
		"From: a@example.net\r\nMessage-ID: <same@example.net>\r\nSubject: dup-1\r\n\r\nFirst.\r\n",
		"From: a@example.net\r\nMessage-ID: <same@example.net>\r\nSubject: dup-2\r\n\r\nSecond.\r\n",
		"From: a@example.net\r\nMessage-ID: <same@example.net>\r\nSubject: dup-2\r\n\r\nSecond.\r\n", // identical twin
		"From: a@example.net\nMessage-ID: <lf@example.net>\nSubject: bare-lf\n\nline one\nline two\n",
		"From: a@example.net\r\nMessage-ID: <nul@example.net>\r\nSubject: nul\r\n\r\nbefore\x00after\r\n",
		"From: J\xf6rg <a@example.net>\r\nMessage-ID: <latin1@example.net>\r\nSubject: 8bit-\xe9t\xe9\r\n\r\nLatin-1 in the header.\r\n",
		"From: a@example.net\r\nMessage-ID: <bad@example.net>\r\nSubject: invalid-utf8-\xc3\x28\xff\xfe\r\n\r\n\xed\xa0\x80 surrogate\r\n",
		"From: a@example.net\r\nMessage-ID: <long@example.net>\r\nSubject: long-lines\r\nX-Long: " + long + "\r\n\r\n" + long + "\r\n" + long + long + "\r\n",
	}
	out := make([]rig.Message, len(bodies))
	for i, b := range bodies {
		out[i] = rig.Message{Date: date.Add(time.Duration(i) * time.Hour), Body: []byte(b)}
	}
	out[1].Flags = []imap.Flag{imap.FlagSeen}
	return out
}

// Messages on disk in the remote's maildir, which IMAP would refuse or
// rewrite: Dovecot serves the message named in its file, and believes the
// size the file name states (",W=" is RFC822.SIZE and the literal's length).
var diskMessages = []struct {
	name, body string
}{
	{"1700000001.M1P1.rig", "From: a@example.net\nMessage-ID: <d1@example.net>\nSubject: disk-1\n\nfirst\n"},
	{"1700000002.M1P1.rig,S=0,W=0", ""}, // a 0-byte message: the local Dovecot refuses to store it
	// The name states 600 bytes, the file has 36: Dovecot announces a
	// literal of 600, sends 36 and closes the connection, on every FETCH.
	{"1700000003.M1P1.rig,S=500,W=600", "Subject: lies-larger\n\nshort body\n"},
	// The name states 10 bytes: Dovecot sends the first 10 and says OK.
	// No client can tell; the copy is what the server served.
	{"1700000004.M1P1.rig,S=48,W=10", "Subject: lies-smaller\n\nthe rest is never served\n"},
	{"1700000005.M1P1.rig", "From: a@example.net\nMessage-ID: <d5@example.net>\nSubject: disk-5\n\nlast\n"},
}

// diskWant is what the local Disk folder must hold: every message as
// Dovecot serves it, less the two that cannot be copied.
var diskWant = []string{
	"From: a@example.net\r\nMessage-ID: <d1@example.net>\r\nSubject: disk-1\r\n\r\nfirst\r\n",
	"Subject: l", // the first 10 bytes, as served (CRLF counted)
	"From: a@example.net\r\nMessage-ID: <d5@example.net>\r\nSubject: disk-5\r\n\r\nlast\r\n",
}

// Hostile messages, each copied byte for byte or refused alone with its
// reason while the rest of its folder is copied; a second run copies
// nothing again and refuses the same two. The 50 MB message goes through
// the spool, and the engine's heap stays far below its size.
func TestHostileMessagesOnDovecot(t *testing.T) {
	w := newRigWorld(t, rig.RemoteOptions{})
	w.remote.Put(t, "Hostile", hostileMessages()...)
	w.remote.Put(t, "Big", big(1, 50<<20))
	w.remote.Put(t, "Disk", mail(0, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)))
	before := w.remote.Read(t) // the Disk files below break a whole-folder FETCH
	for _, m := range diskMessages {
		w.remote.PutFile(t, "Disk", m.name, []byte(m.body))
	}
	spy := &spoolSpy{want: []byte(fmt.Sprintf("BODY.PEEK[]<0.%d>", 8<<20))}
	cfg := w.config()
	cfg.Remote = spy.dial(w)
	for run := 1; run <= 2; run++ {
		sum, err := runMeasured(t, cfg)
		if err != ErrPartial {
			t.Fatalf("run %d: %v, want ErrPartial (%+v)", run, err, sum)
		}
		wantCopied := 14
		if run == 2 {
			wantCopied = 0
		}
		if sum.Copied != wantCopied {
			t.Errorf("run %d copied %d, want %d", run, sum.Copied, wantCopied)
		}
		checkDiskFailures(t, sum.Failed)
		local := w.local.Read(t, "alice")
		for _, f := range []string{"INBOX", "Hostile", "Big"} {
			if !rig.EqualMessages(before[f], local[f]) {
				t.Errorf("run %d: folder %s differs: remote %s, local %s", run, f, describe(before[f]), describe(local[f]))
			}
		}
		checkDisk(t, before["Disk"], local["Disk"])
	}
	if !spy.saw {
		t.Error("the 50 MB message did not go through the spool")
	}
}

// checkDiskFailures wants exactly the 0-byte message (UID 3) and the one
// whose size lies larger (UID 4) refused, each with its reason.
func checkDiskFailures(t *testing.T, failed []Failure) {
	t.Helper()
	want := map[uint32]string{3: "zero byte", 4: "600 bytes"}
	if len(failed) != len(want) {
		t.Errorf("failures %v, want UIDs 3 and 4 of Disk", failed)
	}
	for _, f := range failed {
		if f.Folder != "Disk" || !strings.Contains(f.Error(), want[f.UID]) || want[f.UID] == "" {
			t.Errorf("failure %q, want Disk UID 3 (%q) or 4 (%q)", f.Error(), want[3], want[4])
		}
	}
}

func checkDisk(t *testing.T, first, local []rig.Message) {
	t.Helper()
	got := []string{}
	for _, m := range local {
		got = append(got, string(m.Body))
	}
	want := append([]string{string(first[0].Body)}, diskWant...)
	if !slices.Equal(got, want) {
		t.Errorf("local Disk:\n got %q\nwant %q", got, want)
	}
}

// runMeasured runs the engine and fails the test if the run allocates as
// much as the 50 MB message: bodies must stream, never be held whole. The
// bytes allocated are counted rather than the heap sampled, which would
// depend on when the collector runs.
func runMeasured(t *testing.T, cfg Config) (*Summary, error) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	sum, err := Run(context.Background(), cfg)
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 25<<20 {
		t.Errorf("the run allocated %d MiB", alloc>>20)
	}
	return sum, err
}

// spoolSpy watches the remote's wire for a ranged fetch without keeping
// what it saw, which would hold the 50 MB body in the test's heap. The
// command is in the client's small writes; bodies come in large reads,
// which it passes over without allocating.
type spoolSpy struct {
	mu   sync.Mutex
	want []byte
	tail []byte
	saw  bool
}

func (s *spoolSpy) Write(p []byte) (int, error) {
	if len(p) > 1024 {
		return len(p), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	buf := append(s.tail, p...)
	s.saw = s.saw || bytes.Contains(buf, s.want)
	s.tail = slices.Clone(buf[max(0, len(buf)-len(s.want)):])
	return len(p), nil
}

// dial connects as production does, under the folder-name guard, with the
// spy on the wire.
func (s *spoolSpy) dial(w *rigWorld) Dialer {
	return func(ctx context.Context) (*imapclient.Client, error) {
		return guardedDial(w.remote, s)
	}
}

// guardedDial logs in to the remote through folders.Guard, as sync/remote
// does, with an optional wire log.
func guardedDial(r *rig.Remote, debug io.Writer) (*imapclient.Client, error) {
	conn, err := net.Dial("tcp", r.Addr)
	if err != nil {
		return nil, err
	}
	c := imapclient.New(folders.Guard(conn), &imapclient.Options{DebugWriter: debug})
	if err := c.Login(r.User, r.Password).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// wireMessages are stored as they are by the remote Dovecot; a proxy then
// changes what goes over the wire, since no Dovecot serves such bytes: UID
// 1 with bare LF line ends, UID 2 with a raw NUL byte, and RFC822.SIZE that
// lies larger for UID 3 (past SpoolAbove: it takes the spool, and the
// ranges say its true size) and smaller for UID 4.
func wireMessages() []rig.Message {
	var out []rig.Message
	for i, s := range []string{"bare-lf", "raw-nul @NUL@ here", "size-larger", "size-smaller"} {
		body := fmt.Sprintf("From: a@example.net\r\nMessage-ID: <w%d@example.net>\r\nSubject: %s\r\n\r\nline one\r\nline two\r\n", i+1, s)
		out = append(out, rig.Message{Date: time.Date(2023, 8, 1, i, 0, 0, 0, time.UTC), Body: []byte(body)})
	}
	return out
}

var (
	sizeItem   = regexp.MustCompile(`RFC822\.SIZE \d+`)
	literalEnd = regexp.MustCompile(`\{\d+\}\r\n$`)
)

// rewriteWire is the proxy's rule for wireMessages.
func rewriteWire(_ string, resp []byte) hostile.Action {
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
		resp = rewriteLiteral(resp, f, func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("@NUL@"), []byte{0}) })
	}
	return hostile.Forward(resp)
}

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

// Bytes no Dovecot serves, on the wire: each message is copied once, as
// the local Dovecot stores what it is given (it serves bare LF as CRLF and
// NUL as 0x80, which no client can change), and a size that lies in either
// direction changes nothing of the copy. A second run copies nothing.
func TestHostileWireBytesOnDovecot(t *testing.T) {
	w := newRigWorld(t, rig.RemoteOptions{})
	w.remote.Put(t, "Wire", wireMessages()...)
	proxy := hostile.Start(t, w.remote.Addr)
	proxy.SetRule(rewriteWire)
	cfg := w.config()
	cfg.Remote = func(ctx context.Context) (*imapclient.Client, error) {
		return guardedDial(&rig.Remote{Addr: proxy.Addr(), User: w.remote.User, Password: w.remote.Password}, w.wire)
	}
	want := w.remote.Read(t)["Wire"]
	want[1].Body = bytes.ReplaceAll(want[1].Body, []byte("@NUL@"), []byte{0x80})
	for run := 1; run <= 2; run++ {
		sum := w.run(t, cfg)
		if copied := map[int]int{1: 4, 2: 0}[run]; sum.Copied != copied || len(sum.Failed) != 0 {
			t.Fatalf("run %d: %+v", run, sum)
		}
		if got := w.local.Read(t, "alice")["Wire"]; !rig.EqualMessages(got, want) {
			t.Errorf("run %d: local Wire:\n got %q\nwant %q", run, bodies(got), bodies(want))
		}
	}
	if !w.wire.has("UID FETCH 3 (UID BODY.PEEK[]<0.") {
		t.Error("the message said to be 999999999 bytes did not take the spool")
	}
}

func bodies(msgs []rig.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, string(m.Body))
	}
	return out
}

// A size that lies and a cut in one batch: UID 2 says RFC822.SIZE 1, and
// the connection is cut in the middle of UID 3's body, once. The copies
// made before the cut are recognised although UID 2's size is not its
// copy's; UID 3 is copied then or by the next run: every message once.
func TestHostileSizeLieThenCutOnDovecot(t *testing.T) {
	w := newRigWorld(t, rig.RemoteOptions{})
	w.remote.Put(t, "Mix", mails(1, 5)...)
	proxy := hostile.Start(t, w.remote.Addr)
	var cut sync.Once
	proxy.SetRule(func(_ string, resp []byte) hostile.Action {
		f, ok := hostile.ParseFetch(resp)
		a := hostile.Forward(resp)
		switch {
		case ok && f.UID == 2:
			a.Send = sizeItem.ReplaceAll(resp, []byte("RFC822.SIZE 1"))
		case ok && f.UID == 3 && f.Body:
			cut.Do(func() { a = hostile.Action{Send: resp[:f.Literal+10], Then: hostile.Cut} })
		}
		return a
	})
	cfg := w.config()
	cfg.Remote = func(ctx context.Context) (*imapclient.Client, error) {
		return guardedDial(&rig.Remote{Addr: proxy.Addr(), User: w.remote.User, Password: w.remote.Password}, nil)
	}
	sum, err := Run(context.Background(), cfg)
	if (err != nil && err != ErrPartial) || sum.Copied+len(sum.Failed) != 5 {
		t.Fatalf("hostile run: %v, %+v; want every message copied, or UID 3 failed", err, sum)
	}
	w.run(t, w.config())
	w.same(t)
}
