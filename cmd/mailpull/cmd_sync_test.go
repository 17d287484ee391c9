package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailpull/mailpull/internal/rig"
)

// world is a remote and a local Dovecot and a mailpull configuration for
// them.
type world struct {
	remote *rig.Remote
	local  *rig.Local
	cfg    string
	dir    string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{remote: rig.StartRemote(t), local: rig.StartLocal(t, rig.LocalOptions{})}
	w.dir = t.TempDir()
	w.cfg = writeConfig(t, fmt.Sprintf(`state_dir = %q
tasks_dir = %q
credentials_dir = %q
[dovecot]
imap = %q
master_user = %q
master_password_file = %q
`, filepath.Join(w.dir, "state"), filepath.Join(w.dir, "tasks"), filepath.Join(w.dir, "credentials"),
		w.local.IMAPAddr, w.local.MasterUser, w.local.MasterPasswordFile))
	return w
}

// addTask adds a task for alice pulling the remote test account.
func (w *world) addTask(t *testing.T, extra ...string) string {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte(w.remote.Password+"\n"), 0o600)
	host, port, _ := net.SplitHostPort(w.remote.TLSAddr)
	args := append([]string{"--config", w.cfg, "task", "add", "--local-user", "alice", "--host", host, "--port", port,
		"--user", w.remote.User, "--password-file", pw, "--tls-ca", w.remote.CA.CAFile}, extra...)
	code, out, errOut := runCLI(t, args...)
	if code != ExitOK {
		t.Fatalf("task add: exit %d: %s", code, errOut)
	}
	return strings.TrimSpace(out)
}

func corpus(n int) []rig.Message {
	var out []rig.Message
	for i := 1; i <= n; i++ {
		var flags []imap.Flag
		switch i % 4 {
		case 1:
			flags = []imap.Flag{imap.FlagSeen}
		case 2:
			flags = []imap.Flag{imap.FlagFlagged, "$Label1"}
		case 3:
			flags = []imap.Flag{imap.FlagAnswered, imap.FlagSeen}
		}
		body := fmt.Sprintf("From: a@example.net\r\nMessage-ID: <%d.mp@example.net>\r\nSubject: m %d\r\n\r\n%s\r\n",
			i, i, strings.Repeat("line of text\r\n", i*7%200))
		out = append(out, rig.Message{Flags: flags, Date: time.Date(2019, time.Month(1+i%12), 1+i%28, i%24, i%60, 7, 0, time.UTC), Body: []byte(body)})
	}
	return out
}

// sameMail compares the remote account with alice's, folder by folder, with
// the remote's "." hierarchy mapped to the local "/".
func (w *world) sameMail(t *testing.T) {
	t.Helper()
	remote, local := w.remote.Read(t), w.local.Read(t, "alice")
	for name, msgs := range remote {
		lname := strings.ReplaceAll(name, w.remote.Separator, w.local.Separator)
		if !rig.EqualMessages(msgs, local[lname]) {
			t.Errorf("folder %q: remote has %d messages, local %q has %d, or they differ", name, len(msgs), lname, len(local[lname]))
		}
	}
	if len(local) != len(remote) {
		t.Errorf("remote folders %d, local folders %d", len(remote), len(local))
	}
}

func TestSyncMirrorOnRealDovecot(t *testing.T) {
	w := newWorld(t)
	msgs := corpus(60)
	w.remote.Put(t, "INBOX", msgs[:20]...)
	w.remote.Put(t, "Work", msgs[20:35]...)
	w.remote.Put(t, "Work.Projects", msgs[35:50]...)
	w.remote.Put(t, "Entwürfe", msgs[50:]...)
	id := w.addTask(t)

	code, out, errOut := runCLI(t, "--config", w.cfg, "sync", "--dry-run", id)
	if code != ExitOK || len(w.local.Read(t, "alice")["Work"]) != 0 {
		t.Fatalf("dry run: exit %d: %s %s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "--config", w.cfg, "sync", id)
	if code != ExitOK || !strings.Contains(out, "copied 60,") {
		t.Fatalf("sync: exit %d: %s %s", code, out, errOut)
	}
	w.sameMail(t)

	code, out, _ = runCLI(t, "--config", w.cfg, "sync", "--json", id)
	if code != ExitOK || !strings.Contains(out, `"copied": 0`) {
		t.Fatalf("re-run: exit %d: %s", code, out)
	}
	w.remote.Put(t, "Work", corpus(61)[60])
	code, out, _ = runCLI(t, "--config", w.cfg, "sync", id)
	if code != ExitOK || !strings.Contains(out, "copied 1,") {
		t.Fatalf("after a new message: exit %d: %s", code, out)
	}
	w.sameMail(t)
}

func TestTaskAddChecksOnRealServers(t *testing.T) {
	w := newWorld(t)
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("not-the-password\n"), 0o600)
	host, port, _ := net.SplitHostPort(w.remote.TLSAddr)
	base := []string{"--config", w.cfg, "task", "add", "--host", host, "--port", port, "--user", w.remote.User}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--local-user", "alice", "--password-file", pw, "--tls-ca", w.remote.CA.CAFile}, ExitNoPerm, "refused"},
		{[]string{"--local-user", "alice", "--password-file", pw}, ExitNoPerm, w.remote.CA.Fingerprint()},
		{[]string{"--local-user", "nobody", "--password-file", pw, "--tls-ca", w.remote.CA.CAFile}, ExitNoUser, "nobody"},
		{[]string{"--local-user", "alice", "--password-file", pw, "--host", "imap.nonexistent.invalid"}, ExitNoHost, "not found"},
	} {
		code, out, errOut := runCLI(t, append(base, c.args...)...)
		if code != c.code || !strings.Contains(errOut, c.want) || strings.Contains(errOut, "not-the-password") {
			t.Errorf("%v: exit %d (want %d), stdout %q, stderr %q (want %q)", c.args, code, c.code, out, errOut, c.want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(w.dir, "*", "*")); len(left) != 0 {
		t.Errorf("a task that failed its check left files: %v", left)
	}
}

// The settings dovecot-config prints make a Dovecot accept mailpull's
// master login (masteruser's tests prove the snippet itself; this proves
// the command prints it from the configuration).
func TestDovecotConfig(t *testing.T) {
	p := writeConfig(t, "[dovecot]\nmaster_user = \"mailpull\"\nseparator = \"!\"\n")
	code, out, errOut := runCLI(t, "--config", p, "dovecot-config", "--passwd-file", "/etc/dovecot/mailpull-masters")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"auth_master_user_separator = !", "args = /etc/dovecot/mailpull-masters", "printf '%s:%s\\n' mailpull"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// Strict mirror: a run refuses to delete more than 10% of a local folder
// and says how to go on; sync --force then deletes exactly the copies whose
// remote message is gone, and the user's own local message stays.
func TestSyncDeleteLocalNeedsForce(t *testing.T) {
	w := newWorld(t)
	w.remote.Put(t, "Work", corpus(20)...)
	id := w.addTask(t, "--delete-local")
	if code, out, errOut := runCLI(t, "--config", w.cfg, "sync", id); code != ExitOK {
		t.Fatalf("sync: exit %d: %s %s", code, out, errOut)
	}
	own := rig.Message{Date: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), Body: []byte("Subject: mine\r\n\r\nmine\r\n")}
	rig.Append(t, w.local.Dial(t, "alice"), "Work", own)
	c := w.remote.Dial(t)
	if _, err := c.Select("Work", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	gone := imap.UIDSetNum(1, 2, 3, 4, 5)
	c.Store(gone, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
	if err := c.UIDExpunge(gone).Close(); err != nil {
		t.Fatal(err)
	}

	code, out, _ := runCLI(t, "--config", w.cfg, "sync", id)
	if code != ExitPartial || !strings.Contains(out, "deleted local 0,") || !strings.Contains(out, "--force") {
		t.Fatalf("sync without --force: exit %d: %s", code, out)
	}
	if n := len(w.local.Read(t, "alice")["Work"]); n != 21 {
		t.Fatalf("local Work has %d messages after a refused deletion, want 21", n)
	}
	code, out, _ = runCLI(t, "--config", w.cfg, "sync", "--force", "--json", id)
	if code != ExitOK || !strings.Contains(out, `"deleted_local": 5`) || !strings.Contains(out, `"flags_updated": 0`) {
		t.Fatalf("sync --force: exit %d: %s", code, out)
	}
	local := w.local.Read(t, "alice")["Work"]
	if want := append(w.remote.Read(t)["Work"], own); !rig.EqualMessages(local, want) {
		t.Fatalf("local Work has %d messages, want the remote's 15 and the user's own", len(local))
	}
}

func TestInfoOnRealDovecot(t *testing.T) {
	w := newWorld(t)
	msgs := corpus(12)
	w.remote.Put(t, "INBOX", msgs[:5]...)
	w.remote.Put(t, "Work", msgs[5:]...)
	id := w.addTask(t)
	if code, _, errOut := runCLI(t, "--config", w.cfg, "sync", id); code != ExitOK {
		t.Fatalf("sync: %s", errOut)
	}
	w.remote.Put(t, "Work", corpus(13)[12])
	code, out, errOut := runCLI(t, "--config", w.cfg, "info", "--json", id)
	if code != ExitOK {
		t.Fatalf("info: exit %d: %s", code, errOut)
	}
	var got struct {
		Folders []folderJSON `json:"folders"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string][3]int{"INBOX": {5, 5, 5}, "Work": {8, 7, 7}}
	for _, f := range got.Folders {
		w := want[f.Remote]
		if [3]int{int(f.RemoteMessages), int(f.LocalMessages), f.Copied} != w || f.RemoteBytes <= 0 || f.LocalBytes <= 0 {
			t.Errorf("%s: %+v, want remote/local/copied %v", f.Remote, f, w)
		}
	}
	if len(got.Folders) != 2 {
		t.Errorf("folders: %+v", got.Folders)
	}
	if code, out, _ := runCLI(t, "--config", w.cfg, "info", id); code != ExitOK || !strings.Contains(out, "total") {
		t.Errorf("info table: %s", out)
	}
}
