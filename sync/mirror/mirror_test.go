package mirror

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/mailpull/mailpull/sync/ledger"
	"github.com/mailpull/mailpull/task"
)

// memServer is an in-memory IMAP server with one user, for fast tests of
// the engine's logic; the real-server tests run it against Dovecot.
func memServer(t *testing.T) (*imapmemserver.User, Dialer) {
	t.Helper()
	u := imapmemserver.NewUser("u", "pw")
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem := imapmemserver.New()
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}, imap.CapLiteralPlus: {}},
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	dial := func(ctx context.Context) (*imapclient.Client, error) {
		c, err := imapclient.DialInsecure(ln.Addr().String(), nil)
		if err != nil {
			return nil, err
		}
		if err := c.Login("u", "pw").Wait(); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	return u, dial
}

type message struct {
	flags []imap.Flag
	date  time.Time
	body  string
}

func put(t *testing.T, dial Dialer, folder string, msgs ...message) {
	t.Helper()
	c, err := dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if folder != "INBOX" {
		c.Create(folder, nil).Wait() // may exist
	}
	for _, m := range msgs {
		cmd := c.Append(folder, int64(len(m.body)), &imap.AppendOptions{Flags: m.flags, Time: m.date})
		io.WriteString(cmd, m.body)
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
}

// dump reads an account: folder → sorted "flags|date|body" lines.
func dump(t *testing.T, dial Dialer) map[string][]string {
	t.Helper()
	c, err := dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, l := range list {
		sel, err := c.Select(l.Mailbox, nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		out[l.Mailbox] = []string{}
		if sel.NumMessages == 0 {
			continue
		}
		msgs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{Flags: true, InternalDate: true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			flags := make([]string, 0, len(m.Flags))
			for _, f := range m.Flags {
				if f != `\Recent` {
					flags = append(flags, string(f))
				}
			}
			sort.Strings(flags)
			out[l.Mailbox] = append(out[l.Mailbox], fmt.Sprintf("%v|%s|%s", flags, m.InternalDate.UTC().Format(time.RFC3339), m.BodySection[0].Bytes))
		}
		sort.Strings(out[l.Mailbox])
	}
	return out
}

func msg(i int, flags ...imap.Flag) message {
	body := fmt.Sprintf("Message-ID: <%d@example.org>\r\nSubject: test %d\r\n\r\nbody %d %s\r\n", i, i, i, bytes.Repeat([]byte("x"), i*50))
	return message{flags: flags, date: time.Date(2020, 1, 1+i%28, 10, i%60, 0, 0, time.UTC), body: body}
}

func newRun(t *testing.T, remote, local Dialer, l *ledger.Ledger) Config {
	tk := task.New()
	tk.ID, tk.LocalUser, tk.Host, tk.Port, tk.RemoteUser = "a0241w", "u", "127.0.0.1", 143, "u"
	return Config{Task: tk, Remote: remote, Local: local, Ledger: l, Batch: 3}
}

func openLedger(t *testing.T) *ledger.Ledger {
	l, err := ledger.Open(filepath.Join(t.TempDir(), "a0241w.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestMirrorCopiesOnceAndIncrementally(t *testing.T) {
	_, remote := memServer(t)
	_, local := memServer(t)
	put(t, remote, "INBOX", msg(1, imap.FlagSeen), msg(2), msg(3, imap.FlagFlagged, "$Label1"), msg(4, imap.FlagAnswered))
	put(t, remote, "Work", msg(5), msg(6, imap.FlagSeen))
	put(t, remote, "Work/Deep", msg(7, imap.FlagDraft))
	cfg := newRun(t, remote, local, openLedger(t))

	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Copied != 7 {
		t.Fatalf("copied %d, want 7: %+v", sum.Copied, sum)
	}
	want := dump(t, remote)
	if got := dump(t, local); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("local differs from remote:\n got %v\nwant %v", got, want)
	}

	sum, err = Run(context.Background(), cfg)
	if err != nil || sum.Copied != 0 {
		t.Fatalf("re-run copied %d (%v)", sum.Copied, err)
	}

	put(t, remote, "Work", msg(8, imap.FlagSeen))
	sum, err = Run(context.Background(), cfg)
	if err != nil || sum.Copied != 1 {
		t.Fatalf("after one new message: copied %d (%v)", sum.Copied, err)
	}
	if got, want := dump(t, local), dump(t, remote); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("local differs from remote:\n got %v\nwant %v", got, want)
	}
}

func TestMirrorDryRunChangesNothing(t *testing.T) {
	_, remote := memServer(t)
	_, local := memServer(t)
	put(t, remote, "Work", msg(1), msg(2))
	l := openLedger(t)
	cfg := newRun(t, remote, local, l)
	cfg.DryRun = true
	before := dump(t, local)
	sum, err := Run(context.Background(), cfg)
	if err != nil || sum.Copied != 2 || len(sum.Created) != 1 { // counts of what would happen
		t.Fatalf("dry run: %+v, %v", sum, err)
	}
	if after := dump(t, local); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("dry run changed the local account: %v", after)
	}
	if stats, _ := l.Stats(); len(stats) != 0 {
		t.Fatalf("dry run wrote the ledger: %v", stats)
	}
}

// A run that died after its appends and before its commit left an open
// intent; the next run finds the copies and does not duplicate them.
func TestMirrorSettlesAnInterruptedBatch(t *testing.T) {
	_, remote := memServer(t)
	_, local := memServer(t)
	put(t, remote, "INBOX", msg(1), msg(2), msg(3))
	l := openLedger(t)
	cfg := newRun(t, remote, local, l)

	// Simulate the dead run: the intent, then two of the three appends.
	lc, _ := local(context.Background())
	st, _ := lc.Status("INBOX", &imap.StatusOptions{UIDNext: true, UIDValidity: true}).Wait()
	lc.Close()
	rc, _ := remote(context.Background())
	sel, _ := rc.Select("INBOX", nil).Wait()
	metas, err := fetchMeta(rc, imap.UIDSetNum(1, 2, 3))
	rc.Close()
	if err != nil || len(metas) != 3 {
		t.Fatalf("meta: %v %v", metas, err)
	}
	in := ledger.Intent{Folder: "INBOX", UIDValidity: sel.UIDValidity, LocalFolder: "INBOX",
		LocalUIDValidity: st.UIDValidity, LocalUIDNext: uint32(st.UIDNext)}
	for _, m := range metas {
		in.Messages = append(in.Messages, ledger.IntentMessage{UID: m.uid, Size: m.size, Date: m.date, MessageID: m.messageID})
	}
	if _, err := l.Begin(in); err != nil {
		t.Fatal(err)
	}
	put(t, local, "INBOX", msg(1), msg(2))

	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Adopted != 2 || sum.Copied != 1 {
		t.Fatalf("adopted %d copied %d, want 2 and 1", sum.Adopted, sum.Copied)
	}
	if got, want := dump(t, local), dump(t, remote); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("local differs from remote:\n got %v\nwant %v", got, want)
	}
}

func TestMaxMessagesKeepsTheNewest(t *testing.T) {
	_, remote := memServer(t)
	_, local := memServer(t)
	put(t, remote, "INBOX", msg(1), msg(2), msg(3), msg(4))
	put(t, remote, "Empty/Child", msg(5))
	cfg := newRun(t, remote, local, openLedger(t))
	cfg.Task.MaxMessages = 2
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	got := dump(t, local)
	if len(got["INBOX"]) != 2 || len(got["Empty/Child"]) != 1 {
		t.Fatalf("got %v", got)
	}
	if _, ok := got["Empty"]; !ok {
		t.Fatalf("hierarchy not created: %v", got)
	}
}
