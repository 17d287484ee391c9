package inbox

import (
	"fmt"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailpull/mailpull/internal/rig"
	"github.com/mailpull/mailpull/task"
)

// Remote deletion takes only what the ledger shows delivered, with UID
// EXPUNGE: mail that was there before a first_run = new task, and the
// user's own \Deleted message, stay on the remote.
func TestDeletionTakesOnlyDeliveredMail(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second)
	old, recent := mail("delivered long ago"), mail("delivered today")
	old.Date, recent.Date = now.AddDate(0, 0, -40), now
	for _, c := range []struct {
		policy string
		days   int
		left   string // on the remote after the second run
	}{
		{task.DeleteAfterCopy, 0, "[not delivered user deleted]"},
		{task.DeleteOlderThan, 30, "[not delivered user deleted delivered today]"},
	} {
		t.Run(c.policy, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, rig.LocalOptions{})
			w.cfg.Task.FirstRun, w.cfg.Task.DeleteRemote, w.cfg.Task.RetentionDays = task.FirstRunNew, c.policy, c.days
			w.remote.Put(t, "INBOX", mail("not delivered"), mail("user deleted", imap.FlagDeleted))
			w.run(t, nil)
			w.remote.Put(t, "INBOX", old, recent)
			sum := w.run(t, nil)
			if sum.Delivered != 2 {
				t.Fatalf("summary %+v", sum)
			}
			var left []string
			for _, m := range w.remote.Read(t)["INBOX"] {
				left = append(left, header(m.Body, "Subject"))
			}
			if fmt.Sprint(left) != c.left {
				t.Fatalf("remote INBOX %v, want %s", left, c.left)
			}
			if n := len(w.local.Read(t, "alice")["INBOX"]); n != 2 {
				t.Fatalf("local INBOX has %d messages, want 2", n)
			}
		})
	}
}
