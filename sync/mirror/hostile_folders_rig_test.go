package mirror

import (
	"bytes"
	"context"
	"errors"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/mailpull/mailpull/internal/rig"
	"github.com/mailpull/mailpull/sync/internal/hostile"
	"github.com/mailpull/mailpull/sync/ledger"
	"github.com/mailpull/mailpull/sync/remote"
	"github.com/mailpull/mailpull/task"
)

// hostileFolders are names a real Dovecot holds (separator "/"), each with
// one message, and the local name each must end up in (separator "."),
// under the gmail preset.
var hostileFolders = map[string]string{
	"INBOX":             "INBOX",
	"Tom & Jerry":       "Tom & Jerry", // "&-" in modified UTF-7
	" Lead":             "Lead",        // white space trimmed
	"Trail":             "Trail",
	"Trail ":            "Trail (2)", // collides with Trail once trimmed
	"v1.2":              "v1\u20242", // the local separator inside a name
	"v1\u20242":         "v1\u20242 (2)",
	"Work/inbox":        "Work.inbox", // INBOX's name as a sub-folder
	"Work/INBOX":        "Work.INBOX",
	"Sent":              "Sent (2)", // a label beside Gmail's Sent
	"[Gmail]/Sent Mail": "Sent",
	deepFolder:          "", // skipped: the local Maildir++ cannot hold its name
}

var deepFolder = strings.TrimSuffix(strings.Repeat("d/", 200), "/") // 200 levels

// injectedFolders are LIST lines of names no Dovecot can hold, added by a
// proxy to the real remote's answer: raw 8-bit, modified UTF-7 that is not
// canonical ("&AGE-" is "a"), a bare "&". go-imap cannot decode them; the
// run skips them by name. A second INBOX, "inbox", is the same folder
// (RFC 3501 §5.1) and copied once. ".." and a path through it the remote
// Dovecot refuses to select: they fail by name.
var injectedFolders = []string{
	"* LIST (\\HasNoChildren) \"/\" \"Caf\xe9\"",
	"* LIST (\\HasNoChildren) \"/\" \"&AGE-bc\"",
	"* LIST (\\HasNoChildren) \"/\" \"R&D\"",
	"* LIST (\\HasNoChildren) \"/\" \"inbox\"",
	"* LIST (\\HasNoChildren) \"/\" \"..\"",
	"* LIST (\\HasNoChildren) \"/\" \"Work/../Escape\"",
}

// Hostile folder names: every folder the remote can hold is copied into
// the local folder its name maps to, the names no server should send are
// skipped and named in the summary, and a second run copies nothing.
func TestHostileFoldersOnDovecot(t *testing.T) {
	r := rig.StartRemoteWith(t, rig.RemoteOptions{Separator: "/"})
	l := rig.StartLocal(t, rig.LocalOptions{Separator: "."})
	i := 0
	for name := range hostileFolders {
		i++
		r.Put(t, name, mail(i, time.Date(2022, 3, 1, 0, i, 0, 0, time.UTC)))
	}
	proxy := hostile.Start(t, r.Addr)
	proxy.SetRule(injectList)
	cfg := foldersRun(t, proxy.Addr(), r, l)
	for run := 1; run <= 2; run++ {
		sum, err := Run(context.Background(), cfg)
		if !errors.Is(err, ErrPartial) {
			t.Fatalf("run %d: %v (%+v), want the two \"..\" folders failed", run, err, sum)
		}
		if want := map[int]int{1: len(hostileFolders) - 1, 2: 0}[run]; sum.Copied != want {
			t.Errorf("run %d copied %d, want %d", run, sum.Copied, want)
		}
		checkDotDot(t, sum)
		checkSkipped(t, sum)
		checkFolders(t, r, l)
	}
}

// checkDotDot wants the folders named ".." (which a remote may list but
// Dovecot refuses to select) failed by name, alone, and mapped locally to
// harmless names (one-dot leaders), never to a path that leaves the user's
// mail directory.
func checkDotDot(t *testing.T, sum *Summary) {
	t.Helper()
	var failed []string
	for _, f := range sum.Failed {
		if f.UID != 0 || !strings.Contains(f.Err.Error(), "Invalid mailbox name") {
			t.Errorf("failed: %v", f)
		}
		failed = append(failed, f.Folder)
	}
	if slices.Sort(failed); !slices.Equal(failed, []string{"..", "Work/../Escape"}) {
		t.Errorf("failed folders %q", failed)
	}
	for _, c := range sum.Created {
		if strings.Contains(c, "..") {
			t.Errorf("local folder %q created", c)
		}
	}
}

// injectList adds the injected LIST lines before the tagged end of each
// LIST "" "*".
func injectList(cmd string, resp []byte) hostile.Action {
	tag, rest, _ := strings.Cut(cmd, " ")
	if !strings.HasPrefix(strings.ToUpper(rest), "LIST \"\" \"*\"") || !bytes.HasPrefix(resp, []byte(tag+" OK")) {
		return hostile.Forward(resp)
	}
	return hostile.Action{Send: append([]byte(strings.Join(injectedFolders, "\r\n")+"\r\n"), resp...)}
}

func checkSkipped(t *testing.T, sum *Summary) {
	t.Helper()
	var got []string
	parents := 0 // the \Noselect parents: Work and 199 of deepFolder's
	for _, s := range sum.SkippedFolders {
		if s.Reason == "not selectable" {
			parents++
			continue
		}
		got = append(got, strings.TrimSuffix(s.Remote+": "+s.Reason, timing(s.Reason)))
	}
	if parents != 200 {
		t.Errorf("%d folders skipped as not selectable, want 200", parents)
	}
	want := []string{"&AGE-bc: name cannot be decoded", "Caf\xe9: name cannot be decoded", "R&D: name cannot be decoded",
		"[Gmail]: Gmail's top folder; its folders go to the top level",
		deepFolder + ": the local server cannot create it: imap: NO Not found"}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("skipped %q, want %q", got, want)
	}
}

// checkFolders wants each remote folder's message in its local folder.
func checkFolders(t *testing.T, r *rig.Remote, l *rig.Local) {
	t.Helper()
	remote, local := r.Read(t), l.Read(t, "alice")
	for name, want := range hostileFolders {
		if want == "" {
			continue
		}
		if !rig.EqualMessages(remote[name], local[want]) {
			t.Errorf("remote %q: local %q holds %s, want %s", name, want, describe(local[want]), describe(remote[name]))
		}
	}
	n := 0
	for _, msgs := range local {
		n += len(msgs)
	}
	if n != len(hostileFolders)-1 {
		t.Errorf("alice holds %d messages, want %d: %v", n, len(hostileFolders), slices.Sorted(mapsKeys(local)))
	}
}

// timing is the " (0.001 + 0.000 secs)." Dovecot ends its answers with.
func timing(reason string) string {
	if i := strings.LastIndex(reason, " ("); i >= 0 && strings.HasSuffix(reason, "secs).") {
		return reason[i:]
	}
	return ""
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// foldersRun is a gmail task whose remote connections go through addr with
// the production dialer, folder-name guard included.
func foldersRun(t *testing.T, addr string, r *rig.Remote, l *rig.Local) Config {
	lg, err := ledger.Open(filepath.Join(t.TempDir(), "l.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lg.Close() })
	tk := task.New()
	tk.ID, tk.LocalUser, tk.Host, tk.RemoteUser, tk.Provider = "hfold1", "alice", "127.0.0.1", r.User, "gmail"
	host, port, _ := net.SplitHostPort(addr)
	rcfg := remote.Config{Host: host, Security: remote.None, User: r.User, Password: r.Password}
	rcfg.Port, _ = strconv.Atoi(port)
	return Config{Task: tk, Ledger: lg,
		Remote: func(ctx context.Context) (*imapclient.Client, error) { return remote.Dial(ctx, rcfg) },
		Local: func(context.Context) (*imapclient.Client, error) {
			c, err := imapclient.DialInsecure(l.IMAPAddr, nil)
			if err == nil {
				err = c.Authenticate(sasl.NewPlainClient("alice", l.MasterUser, l.MasterPassword))
			}
			return c, err
		}}
}
