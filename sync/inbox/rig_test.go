package inbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/internal/rig"
	"github.com/mailpull/mailpull/sync/ledger"
	"github.com/mailpull/mailpull/task"
)

// world is a remote and a local Dovecot, and a run configuration that
// delivers the remote INBOX to alice.
type world struct {
	remote *rig.Remote
	local  *rig.Local
	cfg    Config
}

func newWorld(t *testing.T, opts rig.LocalOptions) *world {
	t.Helper()
	w := &world{remote: rig.StartRemote(t), local: rig.StartLocal(t, opts)}
	l, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	tk := task.New()
	tk.ID, tk.LocalUser, tk.Folders, tk.Sieve = "t1inbx", "alice", task.FoldersInbox, true
	w.cfg = Config{
		Task:       tk,
		Remote:     func(context.Context) (*imapclient.Client, error) { return w.remote.Dial(t), nil },
		Local:      func(context.Context) (*imapclient.Client, error) { return w.local.Dial(t, "alice"), nil },
		LMTP:       w.unixLMTP,
		Recipient:  w.local.Users["alice"].Mail,
		OriginalTo: "remote@example.com",
		Ledger:     l,
	}
	return w
}

func (w *world) unixLMTP(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", w.local.LMTPSocket)
}

func (w *world) tcpLMTP(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", w.local.LMTPAddr)
}

// run runs the task and fails the test on an error other than want.
func (w *world) run(t *testing.T, want error) *Summary {
	t.Helper()
	sum, err := Run(context.Background(), w.cfg)
	if (want == nil && err != nil) || (want != nil && !errors.Is(err, want)) {
		t.Fatalf("run: %v (want %v), summary %+v", err, want, sum)
	}
	return sum
}

// mail is a test message: its subject names it.
func mail(subject string, flags ...imap.Flag) rig.Message {
	body := fmt.Sprintf("Return-Path: <friend@example.net>\r\nFrom: Friend <friend@example.net>\r\nTo: remote@example.com\r\n"+
		"Message-ID: <%s@example.net>\r\nSubject: %s\r\n\r\nHello about %s.\r\n", strings.ReplaceAll(subject, " ", "."), subject, subject)
	return rig.Message{Flags: flags, Date: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC), Body: []byte(body)}
}

// subjects lists the subjects of alice's mail by folder, with each
// message's origin header.
func (w *world) subjects(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for folder, msgs := range w.local.Read(t, "alice") {
		for _, m := range msgs {
			out[folder] = append(out[folder], header(m.Body, "Subject"))
		}
	}
	return out
}

// origins counts alice's messages by origin header, across all folders.
func (w *world) origins(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, msgs := range w.local.Read(t, "alice") {
		for _, m := range msgs {
			out[header(m.Body, OriginHeader)]++
		}
	}
	return out
}

// header returns the first field called name in a message.
func header(body []byte, name string) string {
	for _, line := range strings.Split(string(body), "\r\n") {
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// remoteFlags returns the flags of the remote INBOX's messages, by subject.
func (w *world) remoteFlags(t *testing.T) map[string][]imap.Flag {
	t.Helper()
	out := map[string][]imap.Flag{}
	for _, m := range w.remote.Read(t)["INBOX"] {
		out[header(m.Body, "Subject")] = m.Flags
	}
	return out
}

func errorsIsAll(err, target error) bool { return err != nil && errors.Is(err, target) }

type ctxDial = func(context.Context) (net.Conn, error)

func seen(flags []imap.Flag) bool { return slices.Contains(flags, imap.FlagSeen) }
