package mirror

import (
	"fmt"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/internal/rig"
)

// The remote folder is deleted and re-created with the same messages but
// one, plus a new one, and a changed flag: Dovecot gives it a new
// UIDVALIDITY. The re-run re-adopts the local copies instead of copying
// them again, copies only the new message, deletes nothing locally (not
// even the copy whose original is gone, with delete-local on) and carries
// the flag over. A dry run before it changes nothing.
func TestUIDValidityChangeReadoptsOnDovecot(t *testing.T) {
	w := newRigWorld(t, rig.RemoteOptions{})
	msgs := mails(1, 5)
	w.remote.Put(t, "Work", msgs...)
	w.remote.Put(t, "INBOX", mails(20, 22)...)
	cfg := w.config()
	cfg.Task.DeleteLocal = true
	if sum := w.run(t, cfg); sum.Copied != 8 {
		t.Fatalf("first run: %+v", sum)
	}
	before := w.uidValidity(t, "Work")

	w.remoteDo(t, "INBOX", func(c *imapclient.Client) {
		if err := c.Delete("Work").Wait(); err != nil {
			t.Fatal(err)
		}
	})
	again := append([]rig.Message{}, msgs[:4]...)
	again[1].Flags = []imap.Flag{imap.FlagAnswered, imap.FlagSeen}
	again = append(again, mail(6, time.Date(2023, 5, 5, 5, 5, 5, 0, time.UTC)))
	w.remote.Put(t, "Work", again...)
	if after := w.uidValidity(t, "Work"); after == before {
		t.Fatalf("Dovecot kept UIDVALIDITY %d for the re-created folder", after)
	}

	local, ledgerBefore := w.local.Read(t, "alice"), ledgerDump(t, w.ledger)
	dry := cfg
	dry.DryRun = true
	if sum := w.run(t, dry); sum.Adopted != 4 || sum.Copied != 1 || sum.DeletedLocal != 0 {
		t.Fatalf("dry run: %+v", sum)
	}
	if got := w.local.Read(t, "alice"); fmt.Sprint(got) != fmt.Sprint(local) {
		t.Fatal("the dry run changed the local account")
	}
	if got := ledgerDump(t, w.ledger); got != ledgerBefore {
		t.Fatalf("the dry run changed the ledger:\n%s\nwas\n%s", got, ledgerBefore)
	}

	sum := w.run(t, cfg)
	if sum.Adopted != 4 || sum.Copied != 1 || sum.FlagsUpdated != 1 || sum.DeletedLocal != 0 {
		t.Fatalf("after the UIDVALIDITY change: %+v", sum)
	}
	got := w.local.Read(t, "alice")["Work"]
	want := append(append([]rig.Message{}, again[:4]...), msgs[4], again[4])
	if !rig.EqualMessages(got, want) {
		t.Fatalf("local Work:\n got %s\nwant %s", describe(got), describe(want))
	}
	if uvs, _ := w.ledger.UIDValidities("Work"); len(uvs) != 1 || uvs[0] == before {
		t.Fatalf("ledger UIDVALIDITYs of Work: %v (the old one is %d)", uvs, before)
	}
	if sum := w.run(t, cfg); sum.Copied != 0 || sum.Adopted != 0 || sum.DeletedLocal != 0 || sum.FlagsUpdated != 0 {
		t.Fatalf("re-run: %+v", sum)
	}
	if n := len(w.local.Read(t, "alice")["Work"]); n != 6 {
		t.Fatalf("local Work has %d messages after the re-run, want 6", n)
	}
}
