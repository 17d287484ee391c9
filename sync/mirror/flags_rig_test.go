package mirror

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailpull/mailpull/internal/rig"
)

// Flag and keyword changes on the remote reach the local copies, through
// CONDSTORE's CHANGEDSINCE on Dovecot; an unchanged folder then costs one
// STATUS and no SELECT or FETCH.
func TestFlagChangesReachLocalOnDovecot(t *testing.T) {
	w := newRigWorld(t, rig.RemoteOptions{})
	msgs := mails(1, 12)
	msgs[0].Flags = []imap.Flag{imap.FlagSeen}
	msgs[1].Flags = []imap.Flag{"$Work", imap.FlagFlagged}
	w.remote.Put(t, "INBOX", msgs[:6]...)
	w.remote.Put(t, "Work", msgs[6:]...)
	cfg := w.config()
	if sum := w.run(t, cfg); sum.Copied != 12 || sum.FlagsUpdated != 0 {
		t.Fatalf("first run: %+v", sum)
	}

	w.storeRemote(t, "INBOX", "m1", imap.StoreFlagsDel, imap.FlagSeen)
	w.storeRemote(t, "INBOX", "m2", imap.StoreFlagsSet, imap.FlagAnswered, "$Private")
	w.storeRemote(t, "INBOX", "m3", imap.StoreFlagsAdd, imap.FlagSeen, imap.FlagDraft)
	w.storeRemote(t, "Work", "m9", imap.StoreFlagsAdd, "$Label5")
	w.storeRemote(t, "Work", "m10", imap.StoreFlagsAdd, imap.FlagSeen)
	w.storeRemote(t, "Work", "m10", imap.StoreFlagsDel, imap.FlagSeen) // changed and back: nothing to do
	w.remote.Put(t, "Work", mail(13, time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC), imap.FlagSeen))
	w.wire.commands()
	if sum := w.run(t, cfg); sum.FlagsUpdated != 4 || sum.Copied != 1 {
		t.Fatalf("after flag changes: %+v", sum)
	}
	if !w.wire.has("CHANGEDSINCE") {
		t.Errorf("flag changes were not asked for with CHANGEDSINCE")
	}
	w.wire.commands()
	w.same(t)

	if sum := w.run(t, cfg); sum.FlagsUpdated != 0 || sum.Copied != 0 {
		t.Fatalf("re-run: %+v", sum)
	}
	cmds := w.wire.commands()
	if cmds["STATUS"] != 2 || cmds["SELECT"]+cmds["EXAMINE"]+cmds["UID FETCH"]+cmds["UID SEARCH"] != 0 {
		t.Fatalf("an unchanged account cost more than a STATUS per folder: %v", cmds)
	}
}

// Without CONDSTORE (the in-memory server has none) the flags of every
// copied message are compared, on a run where the folder's STATUS moved.
func TestFlagChangesWithoutCondstore(t *testing.T) {
	_, remote := memServer(t)
	_, local := memServer(t)
	put(t, remote, "INBOX", msg(1, imap.FlagSeen), msg(2), msg(3, "$Label1"))
	cfg := newRun(t, remote, local, openLedger(t))
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	c, _ := remote(context.Background())
	c.Select("INBOX", nil).Wait()
	c.Store(imap.UIDSetNum(1, 2), &imap.StoreFlags{Op: imap.StoreFlagsSet, Silent: true, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close()
	c.Close()
	sum, err := Run(context.Background(), cfg)
	if err != nil || sum.FlagsUpdated != 0 {
		t.Fatalf("unchanged STATUS: %+v %v (flags are only compared when the folder moved)", sum, err)
	}
	put(t, remote, "INBOX", msg(4))
	sum, err = Run(context.Background(), cfg)
	if err != nil || sum.FlagsUpdated != 2 || sum.Copied != 1 {
		t.Fatalf("after a new message: %+v %v", sum, err)
	}
	if got, want := dump(t, local), dump(t, remote); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("local differs from remote:\n got %v\nwant %v", got, want)
	}
}
