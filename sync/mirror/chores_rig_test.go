package mirror

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/mailpull/mailpull/internal/rig"
	"github.com/mailpull/mailpull/sync/ledger"
	"github.com/mailpull/mailpull/task"
)

// rigWorld is a remote and a local Dovecot, and a run of the engine between
// the remote test account and alice.
type rigWorld struct {
	remote *rig.Remote
	local  *rig.Local
	ledger *ledger.Ledger
	wire   *wireLog // what the engine sent to the remote
}

func newRigWorld(t *testing.T, opts rig.RemoteOptions) *rigWorld {
	t.Helper()
	w := &rigWorld{remote: rig.StartRemoteWith(t, opts), local: rig.StartLocal(t, rig.LocalOptions{}),
		ledger: openLedger(t), wire: &wireLog{}}
	return w
}

// config is a run of the engine; the task copies every folder.
func (w *rigWorld) config() Config {
	tk := task.New()
	tk.ID, tk.LocalUser, tk.Host, tk.RemoteUser = "rig001", "alice", "127.0.0.1", w.remote.User
	return Config{Task: tk, Remote: w.dialRemote, Local: w.dialLocal, Ledger: w.ledger, Batch: 7}
}

func (w *rigWorld) dialRemote(context.Context) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(w.remote.Addr, &imapclient.Options{DebugWriter: w.wire})
	if err != nil {
		return nil, err
	}
	if err := c.Login(w.remote.User, w.remote.Password).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (w *rigWorld) dialLocal(context.Context) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(w.local.IMAPAddr, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Authenticate(sasl.NewPlainClient("alice", w.local.MasterUser, w.local.MasterPassword)); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (w *rigWorld) run(t *testing.T, cfg Config) *Summary {
	t.Helper()
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("run: %v (%+v)", err, sum)
	}
	return sum
}

// localName maps a remote folder name to alice's.
func (w *rigWorld) localName(remote string) string {
	return strings.ReplaceAll(remote, w.remote.Separator, w.local.Separator)
}

// same fails unless every remote folder's messages are in alice's folder
// of the same name, and nothing else is there.
func (w *rigWorld) same(t *testing.T) {
	t.Helper()
	remote, local := w.remote.Read(t), w.local.Read(t, "alice")
	for name, msgs := range remote {
		if got := local[w.localName(name)]; !rig.EqualMessages(msgs, got) {
			t.Errorf("folder %q: remote has %d messages, local %d, or they differ:\nremote %s\nlocal  %s",
				name, len(msgs), len(got), describe(msgs), describe(got))
		}
	}
}

// describe lists messages as "subject[flags]", for failure messages.
func describe(msgs []rig.Message) string {
	var out []string
	for _, m := range msgs {
		subj := ""
		if i := bytes.Index(m.Body, []byte("Subject: ")); i >= 0 {
			subj = string(m.Body[i+9 : i+9+bytes.IndexByte(m.Body[i+9:], '\r')])
		}
		out = append(out, fmt.Sprintf("%s%v", subj, m.Flags))
	}
	return strings.Join(out, " ")
}

// subjects returns the sorted subjects of a folder's messages.
func subjects(msgs []rig.Message) []string {
	out := strings.Fields(describe(msgs))
	for i, s := range out {
		out[i] = s[:strings.IndexByte(s, '[')]
	}
	sort.Strings(out)
	return out
}

// mail is message i: its Message-ID and subject are "m<i>".
func mail(i int, date time.Time, flags ...imap.Flag) rig.Message {
	body := fmt.Sprintf("From: a@example.net\r\nMessage-ID: <m%d@example.net>\r\nSubject: m%d\r\n\r\n%s\r\n",
		i, i, strings.Repeat("some text\r\n", 1+i%9))
	sort.Slice(flags, func(a, b int) bool { return flags[a] < flags[b] })
	return rig.Message{Flags: flags, Date: date, Body: []byte(body)}
}

func mails(from, to int) []rig.Message {
	var out []rig.Message
	for i := from; i <= to; i++ {
		out = append(out, mail(i, time.Date(2021, 3, 1+i%27, 8, i%60, 0, 0, time.UTC)))
	}
	return out
}

// remoteDo runs f on a remote connection with folder selected.
func (w *rigWorld) remoteDo(t *testing.T, folder string, f func(c *imapclient.Client)) {
	t.Helper()
	c := w.remote.Dial(t)
	if _, err := c.Select(folder, nil).Wait(); err != nil {
		t.Fatal(err)
	}
	f(c)
	c.Logout().Wait()
}

// expungeRemote deletes the messages with the given subjects from a remote
// folder.
func (w *rigWorld) expungeRemote(t *testing.T, folder string, subj ...string) {
	t.Helper()
	w.remoteDo(t, folder, func(c *imapclient.Client) {
		for _, s := range subj {
			found, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: "<" + s + "@"}}}, nil).Wait()
			if err != nil || len(found.AllUIDs()) != 1 {
				t.Fatalf("search %s: %v %v", s, found, err)
			}
			set := imap.UIDSetNum(found.AllUIDs()...)
			c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
			if err := c.UIDExpunge(set).Close(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// storeRemote changes the flags of the message with subject subj.
func (w *rigWorld) storeRemote(t *testing.T, folder, subj string, op imap.StoreFlagsOp, flags ...imap.Flag) {
	t.Helper()
	w.remoteDo(t, folder, func(c *imapclient.Client) {
		found, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: "<" + subj + "@"}}}, nil).Wait()
		if err != nil || len(found.AllUIDs()) != 1 {
			t.Fatalf("search %s: %v %v", subj, found, err)
		}
		if err := c.Store(imap.UIDSetNum(found.AllUIDs()...), &imap.StoreFlags{Op: op, Silent: true, Flags: flags}, nil).Close(); err != nil {
			t.Fatal(err)
		}
	})
}

func (w *rigWorld) uidValidity(t *testing.T, folder string) uint32 {
	t.Helper()
	c := w.remote.Dial(t)
	defer func() { c.Logout().Wait() }()
	st, err := c.Status(folder, &imap.StatusOptions{UIDValidity: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	return st.UIDValidity
}

// ledgerDump is everything the ledger holds, as text, to compare.
func ledgerDump(t *testing.T, l *ledger.Ledger) string {
	t.Helper()
	var b strings.Builder
	names, err := l.Folders()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		uvs, _ := l.UIDValidities(name)
		for _, uv := range uvs {
			st, known, _ := l.Folder(name, uv)
			maps, _ := l.Mappings(name, uv)
			left, _ := l.Deletable(name, uv)
			fmt.Fprintf(&b, "%s/%d %v %+v %v %v\n", name, uv, known, st, maps, left)
		}
	}
	open, _ := l.OpenIntents()
	fmt.Fprintf(&b, "intents %v\n", open)
	return b.String()
}

// wireLog keeps what go-imap's DebugWriter saw, both ways.
type wireLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *wireLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *wireLog) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Contains(l.buf.Bytes(), []byte(s))
}

// commands returns the commands the client sent since the last reset, by
// name ("STATUS", "UID FETCH", ...), and resets.
func (l *wireLog) commands() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for _, line := range strings.Split(l.buf.String(), "\r\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] == "*" || f[0] == "+" || strings.HasPrefix(f[1], "OK") || f[1] == "NO" || f[1] == "BAD" {
			continue
		}
		name := strings.ToUpper(f[1])
		if name == "UID" && len(f) > 2 {
			name += " " + strings.ToUpper(f[2])
		}
		out[name]++
	}
	l.buf.Reset()
	return out
}

var _ io.Writer = (*wireLog)(nil)
