package inbox

import (
	"fmt"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/mailpull/mailpull/internal/rig"
	"github.com/mailpull/mailpull/sync/ledger"
	"github.com/mailpull/mailpull/task"
)

// A dry run counts what it would deliver and changes nothing: no local
// mail, no remote flag, no ledger record (the next real run is still the
// first).
func TestDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, rig.LocalOptions{})
	w.cfg.DryRun = true
	w.remote.Put(t, "INBOX", mail("one"), mail("two"))
	if sum := w.run(t, nil); sum.Delivered != 2 || sum.SeenSet != 0 {
		t.Fatalf("summary %+v", sum)
	}
	if local := w.local.Read(t, "alice"); len(local["INBOX"]) != 0 {
		t.Fatalf("a dry run delivered %d messages", len(local["INBOX"]))
	}
	w.untouched(t)
	if vs, _ := w.cfg.Ledger.UIDValidities(Folder); len(vs) != 0 {
		t.Fatalf("a dry run recorded UIDVALIDITYs %v", vs)
	}
}

// After the remote INBOX's UIDVALIDITY changed, the ledger's UIDs mean
// nothing and every message looks new: only unread mail is delivered,
// whatever first_run says, since the mail delivered before is \Seen.
func TestUIDValidityChangeDeliversOnlyUnreadMail(t *testing.T) {
	t.Parallel()
	w := newWorld(t, rig.LocalOptions{})
	w.cfg.Task.FirstRun = task.FirstRunAll
	w.remote.Put(t, "INBOX", mail("delivered before", imap.FlagSeen), mail("arrived unread"))
	uv := w.remoteUIDValidity(t)
	if err := w.cfg.Ledger.SetFolder(Folder, uv-1, ledger.FolderState{FirstRunUIDNext: 1}); err != nil {
		t.Fatal(err)
	}
	w.run(t, nil)
	if got := fmt.Sprint(w.subjects(t)["INBOX"]); got != "[arrived unread]" {
		t.Fatalf("delivered %s, want only the unread message", got)
	}
	w.remote.Put(t, "INBOX", mail("new, read on the phone", imap.FlagSeen))
	w.run(t, nil)
	if got := fmt.Sprint(w.subjects(t)["INBOX"]); got != "[arrived unread new, read on the phone]" {
		t.Fatalf("second run: %s, want the new message whether read or not", got)
	}
}
