package mirror

import (
	"fmt"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/internal/rig"
	"github.com/mailpull/mailpull/task"
)

// A dry run that would copy, update flags, and delete on both sides
// (messages and a folder) counts all of it and changes neither account nor
// the ledger. The real run then does what the dry run announced.
func TestDryRunChangesNothingOnDovecot(t *testing.T) {
	t.Parallel()
	w := newRigWorld(t, rig.RemoteOptions{})
	w.remote.Put(t, "Work", mails(1, 20)...)
	w.remote.Put(t, "Gone", mails(30, 31)...)
	w.remote.Put(t, "INBOX", mails(40, 40)...)
	cfg := w.config()
	if sum := w.run(t, cfg); sum.Copied != 23 {
		t.Fatalf("first run: %+v", sum)
	}
	w.expungeRemote(t, "Work", "m1")
	w.storeRemote(t, "Work", "m2", imap.StoreFlagsAdd, imap.FlagSeen, "$Done")
	w.remote.Put(t, "Work", mail(21, time.Date(2024, 2, 2, 2, 2, 2, 0, time.UTC)))
	w.remoteDo(t, "INBOX", func(c *imapclient.Client) {
		if err := c.Delete("Gone").Wait(); err != nil {
			t.Fatal(err)
		}
	})

	cfg.Task.DeleteLocal, cfg.Task.DeleteRemote, cfg.Force = true, task.DeleteAfterCopy, true
	dry := cfg
	dry.DryRun = true
	remote, local, led := w.remote.Read(t), w.local.Read(t, "alice"), ledgerDump(t, w.ledger)
	sum := w.run(t, dry)
	if sum.Copied != 1 || sum.FlagsUpdated != 1 || sum.DeletedLocal != 3 || sum.DeletedRemote != 20 || fmt.Sprint(sum.Removed) != "[Gone]" {
		t.Fatalf("dry run counted %+v", sum)
	}
	if got := w.remote.Read(t); fmt.Sprint(got) != fmt.Sprint(remote) {
		t.Error("the dry run changed the remote account")
	}
	if got := w.local.Read(t, "alice"); fmt.Sprint(got) != fmt.Sprint(local) {
		t.Error("the dry run changed the local account")
	}
	if got := ledgerDump(t, w.ledger); got != led {
		t.Errorf("the dry run changed the ledger:\n%s\nwas\n%s", got, led)
	}

	cfg.Task.DeleteRemote = task.DeleteNone
	sum = w.run(t, cfg)
	if sum.Copied != 1 || sum.FlagsUpdated != 1 || sum.DeletedLocal != 3 || fmt.Sprint(sum.Removed) != "[Gone]" {
		t.Fatalf("real run: %+v", sum)
	}
	w.same(t)
	if _, ok := w.local.Read(t, "alice")["Gone"]; ok {
		t.Error("the local folder of the gone remote folder is still there")
	}
}
