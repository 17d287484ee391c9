package inbox

import (
	"fmt"
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/mailpull/mailpull/internal/rig"
	"github.com/mailpull/mailpull/task"
)

// The user's Sieve script runs on imported mail: fileinto files it. Every
// message gets its origin, the remote copies are marked \Seen, and a second
// run delivers nothing.
func TestSieveFileintoFilesImportedMail(t *testing.T) {
	t.Parallel()
	w := newWorld(t, rig.LocalOptions{})
	w.local.SetSieve(t, "alice", `require "fileinto";
if header :contains "subject" "invoice" { fileinto "Invoices"; }
`)
	w.remote.Put(t, "INBOX", mail("hello"), mail("invoice 42"), mail("news"))
	sum := w.run(t, nil)
	if sum.Delivered != 3 || sum.SeenSet != 3 {
		t.Fatalf("summary %+v, want 3 delivered and marked seen", sum)
	}
	got := w.subjects(t)
	if fmt.Sprint(got["Invoices"]) != "[invoice 42]" || fmt.Sprint(got["INBOX"]) != "[hello news]" {
		t.Fatalf("local mail %v: want the invoice filed into Invoices", got)
	}
	uv := w.remoteUIDValidity(t)
	for uid := 1; uid <= 3; uid++ {
		if o := Origin("t1inbx", uv, uint32(uid)); w.origins(t)[o] != 1 {
			t.Errorf("origin %s: %d copies, want 1", o, w.origins(t)[o])
		}
	}
	for subj, flags := range w.remoteFlags(t) {
		if !seen(flags) {
			t.Errorf("remote %q not \\Seen: %v", subj, flags)
		}
	}
	if sum := w.run(t, nil); sum.Delivered != 0 || sum.Skipped != 3 {
		t.Fatalf("re-run: %+v, want nothing delivered", sum)
	}
}

func (w *world) remoteUIDValidity(t *testing.T) uint32 {
	t.Helper()
	c := w.remote.Dial(t)
	defer c.Logout()
	sel, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	return sel.UIDValidity
}

// What the first run takes of the mail already there, and that whatever
// arrives later is taken even when it was read on the remote before the
// run (NethServer's INBOX mode takes only unseen mail, and misses it).
func TestFirstRunScopeAndMailReadBeforeTheRun(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		policy     string
		first      string // delivered by the first run
		afterwards string // delivered by the second
	}{
		{task.FirstRunUnseen, "[old unread]", "[new read on the phone new unread]"},
		{task.FirstRunAll, "[old read old unread]", "[new read on the phone new unread]"},
		{task.FirstRunNew, "[]", "[new read on the phone new unread]"},
	} {
		t.Run(c.policy, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, rig.LocalOptions{})
			w.cfg.Task.FirstRun = c.policy
			w.remote.Put(t, "INBOX", mail("old read", imap.FlagSeen), mail("old unread"))
			w.run(t, nil)
			if got := fmt.Sprint(nonNil(w.subjects(t)["INBOX"])); got != c.first {
				t.Fatalf("first run delivered %s, want %s", got, c.first)
			}
			w.remote.Put(t, "INBOX", mail("new read on the phone", imap.FlagSeen), mail("new unread"))
			w.run(t, nil)
			all := w.subjects(t)["INBOX"]
			if got := fmt.Sprint(all[len(all)-2:]); got != c.afterwards {
				t.Fatalf("second run delivered %v, want %s at the end", all, c.afterwards)
			}
		})
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// \Seen is added, never set in place of the other flags: a \Flagged
// message keeps \Flagged and its keywords (getmail's STORE FLAGS loses
// them).
func TestFlaggedSurvivesOnTheRemote(t *testing.T) {
	t.Parallel()
	w := newWorld(t, rig.LocalOptions{})
	w.remote.Put(t, "INBOX", mail("starred", imap.FlagFlagged, "$Label1"), mail("answered", imap.FlagAnswered))
	w.run(t, nil)
	flags := w.remoteFlags(t)
	for subj, want := range map[string][]imap.Flag{
		"starred":  {"$Label1", imap.FlagFlagged, imap.FlagSeen},
		"answered": {imap.FlagAnswered, imap.FlagSeen},
	} {
		if !slices.Equal(flags[subj], want) {
			t.Errorf("remote %q: flags %v, want %v", subj, flags[subj], want)
		}
	}
}

// A message the user moved to Trash is not imported again, even when it is
// unread again on the remote: the ledger, not \Seen, says what was
// delivered.
func TestTrashedMailIsNotImportedAgain(t *testing.T) {
	t.Parallel()
	w := newWorld(t, rig.LocalOptions{})
	w.remote.Put(t, "INBOX", mail("unwanted"))
	w.run(t, nil)
	lc := w.local.Dial(t, "alice")
	if err := lc.Create("Trash", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.Move(imap.UIDSetNum(1), "Trash").Wait(); err != nil {
		t.Fatal(err)
	}
	rc := w.remote.Dial(t)
	rc.Select("INBOX", nil).Wait()
	if err := rc.Store(imap.UIDSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsDel, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	rc.Logout().Wait()

	if sum := w.run(t, nil); sum.Delivered != 0 {
		t.Fatalf("re-run delivered %d", sum.Delivered)
	}
	got := w.subjects(t)
	if fmt.Sprint(got["Trash"]) != "[unwanted]" || len(got["INBOX"]) != 0 {
		t.Fatalf("local mail %v: want the message in Trash only", got)
	}
}
