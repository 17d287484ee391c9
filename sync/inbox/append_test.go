package inbox

import (
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailpull/mailpull/internal/rig"
	"github.com/mailpull/mailpull/task"
)

// With Sieve off the message is appended to the local INBOX: the script
// does not run, the copy keeps its date and flags but arrives unread, and
// it carries its origin.
func TestSieveOffAppendsToTheInbox(t *testing.T) {
	t.Parallel()
	w := newWorld(t, rig.LocalOptions{})
	w.cfg.Task.Sieve, w.cfg.LMTP, w.cfg.Task.FirstRun = false, nil, task.FirstRunAll
	w.local.SetSieve(t, "alice", "require \"fileinto\";\nfileinto \"Filtered\";\n")
	w.remote.Put(t, "INBOX", mail("plain", imap.FlagFlagged, imap.FlagSeen))
	if sum := w.run(t, nil); sum.Delivered != 1 || sum.SeenSet != 1 {
		t.Fatalf("summary %+v", sum)
	}
	local := w.local.Read(t, "alice")
	if len(local["Filtered"]) != 0 || len(local["INBOX"]) != 1 {
		t.Fatalf("local folders %v: want the INBOX only", local)
	}
	m := local["INBOX"][0]
	if !slices.Equal(m.Flags, []imap.Flag{imap.FlagFlagged}) || !m.Date.Equal(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("local copy: flags %v, date %v", m.Flags, m.Date)
	}
	if got := header(m.Body, OriginHeader); got != Origin("t1inbx", w.remoteUIDValidity(t), 1) {
		t.Errorf("origin %q", got)
	}
	if got := header(m.Body, "X-Original-To"); got != "remote@example.com" {
		t.Errorf("X-Original-To %q", got)
	}
}

// MAIL FROM is the message's Return-Path; one that Dovecot refuses (501)
// falls back to the null sender. Dovecot writes the envelope sender as the
// first Return-Path of the copy.
func TestEnvelopeSenderIsTheReturnPath(t *testing.T) {
	t.Parallel()
	w := newWorld(t, rig.LocalOptions{})
	odd := mail("odd")
	odd.Body = append([]byte("Return-Path: <not an address>\r\n"), odd.Body[len("Return-Path: <friend@example.net>\r\n"):]...)
	none := mail("none")
	none.Body = none.Body[len("Return-Path: <friend@example.net>\r\n"):]
	w.remote.Put(t, "INBOX", mail("normal"), odd, none)
	w.run(t, nil)
	got := map[string]string{}
	for _, m := range w.local.Read(t, "alice")["INBOX"] {
		got[header(m.Body, "Subject")] = header(m.Body, "Return-Path")
	}
	want := map[string]string{"normal": "<friend@example.net>", "odd": "<>", "none": "<>"}
	for subj, rp := range want {
		if got[subj] != rp {
			t.Errorf("%q: Return-Path %q, want %q", subj, got[subj], rp)
		}
	}
}
