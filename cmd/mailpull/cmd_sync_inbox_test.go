package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailpull/mailpull/internal/rig"
)

// newInboxWorld is a world whose configuration also names the local LMTP
// socket and the mail domain that makes alice's address.
func newInboxWorld(t *testing.T, opts rig.LocalOptions) *world {
	t.Helper()
	w := &world{remote: rig.StartRemote(t), local: rig.StartLocal(t, opts)}
	w.dir = t.TempDir()
	w.cfg = writeConfig(t, fmt.Sprintf(`state_dir = %q
tasks_dir = %q
credentials_dir = %q
[dovecot]
imap = %q
lmtp = %q
domain = %q
master_user = %q
master_password_file = %q
`, filepath.Join(w.dir, "state"), filepath.Join(w.dir, "tasks"), filepath.Join(w.dir, "credentials"),
		w.local.IMAPAddr, w.local.LMTPSocket, w.local.Domain, w.local.MasterUser, w.local.MasterPasswordFile))
	return w
}

func inboxMail(i int, flags ...imap.Flag) rig.Message {
	body := fmt.Sprintf("Return-Path: <sender%d@example.net>\r\nFrom: sender%d@example.net\r\nTo: remote@example.com\r\n"+
		"Message-ID: <%d.inbox@example.net>\r\nSubject: message %d\r\n\r\n%s", i, i, i, i, strings.Repeat("some text\r\n", 1+i%50))
	return rig.Message{Flags: flags, Date: time.Date(2024, 5, 1+i%28, 10, 0, 0, 0, time.UTC), Body: []byte(body)}
}

// mailpull sync runs an INBOX task: delivered through LMTP (Sieve files
// one message), a summary that says so, nothing on a re-run.
func TestSyncInboxOnRealDovecot(t *testing.T) {
	w := newInboxWorld(t, rig.LocalOptions{})
	w.local.SetSieve(t, "alice", "require \"fileinto\";\nif header :is \"subject\" \"message 2\" { fileinto \"Filed\"; }\n")
	w.remote.Put(t, "INBOX", inboxMail(1), inboxMail(2), inboxMail(3, imap.FlagSeen))
	id := w.addTask(t, "--folders", "inbox", "--sieve")

	code, out, errOut := runCLI(t, "--config", w.cfg, "sync", id)
	if code != ExitOK || !strings.Contains(out, "delivered 2, already there 0, recovered 0, seen set 2,") {
		t.Fatalf("sync: exit %d: %s %s", code, out, errOut)
	}
	local := w.local.Read(t, "alice")
	if len(local["INBOX"]) != 1 || len(local["Filed"]) != 1 {
		t.Fatalf("local: INBOX %d, Filed %d: want 1 and 1", len(local["INBOX"]), len(local["Filed"]))
	}
	code, out, _ = runCLI(t, "--config", w.cfg, "sync", "--json", id)
	if code != ExitOK || !strings.Contains(out, `"delivered": 0`) || !strings.Contains(out, `"skipped": 2`) {
		t.Fatalf("re-run: exit %d: %s", code, out)
	}
}

// The refusals of Dovecot's LMTP end a run with the exit codes of design
// §9: unknown user 67, full mailbox 73, a temporary refusal 75; each says
// why on stderr.
func TestSyncInboxExitCodes(t *testing.T) {
	quota := "protocol lmtp {\n  mail_plugins = $mail_plugins quota\n}\nplugin {\n  quota = maildir:User quota\n  quota_rule = *:storage=1K\n}\n"
	for _, c := range []struct {
		name   string
		config string
		extra  []string
		code   int
		want   string
	}{
		{"unknown user", "", []string{"--local-user", "nobody", "--no-check"}, ExitNoUser, "nobody@example.org"},
		{"mailbox full", quota, nil, ExitCantCreate, "mailbox is full"},
		{"mailbox full, tempfail", "quota_full_tempfail = yes\n" + quota, nil, ExitTempFail, "deferred"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newInboxWorld(t, rig.LocalOptions{Config: c.config})
			big := inboxMail(1)
			big.Body = append(big.Body, []byte(strings.Repeat("filler line of the message\r\n", 100))...)
			w.remote.Put(t, "INBOX", big)
			id := w.addTask(t, append([]string{"--folders", "inbox", "--sieve"}, c.extra...)...)
			code, out, errOut := runCLI(t, "--config", w.cfg, "sync", id)
			if code != c.code || !strings.Contains(errOut, c.want) || !strings.Contains(out, fmt.Sprintf("exit %d", c.code)) {
				t.Fatalf("exit %d (want %d): stdout %q, stderr %q (want %q)", code, c.code, out, errOut, c.want)
			}
			if flags := w.remote.Read(t)["INBOX"][0].Flags; len(flags) != 0 {
				t.Fatalf("remote flags %v: the remote must stay untouched", flags)
			}
		})
	}
}
