package mirror

import (
	"fmt"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailpull/mailpull/internal/rig"
	"github.com/mailpull/mailpull/sync/folders"
	"github.com/mailpull/mailpull/task"
)

// after-copy deletes exactly the copied messages: the user's own \Deleted
// message that max_messages kept out survives, and so does one a
// concurrent client adds, \Deleted, between the choice and the expunge
// (UID EXPUNGE, never a bare EXPUNGE). older-than then keeps the recent
// messages, and a folder with a failure in the run is not touched.
func TestDeleteRemoteOnDovecot(t *testing.T) {
	t.Parallel()
	w := newRigWorld(t, rig.RemoteOptions{})
	own := mail(1, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), imap.FlagDeleted)
	w.remote.Put(t, "INBOX", append([]rig.Message{own}, mails(2, 4)...)...)
	cfg := w.config()
	cfg.Task.MaxMessages = 3
	cfg.Task.DeleteRemote = task.DeleteAfterCopy
	raced := mail(9, time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC), imap.FlagDeleted)
	cfg.beforeRemoteDelete = func(folder string) { w.remote.Put(t, folder, raced) }
	if sum := w.run(t, cfg); sum.Copied != 3 || sum.DeletedRemote != 3 {
		t.Fatalf("after-copy: %+v", sum)
	}
	if got := subjects(w.remote.Read(t)["INBOX"]); fmt.Sprint(got) != "[m1 m9]" {
		t.Fatalf("remote INBOX after after-copy: %v, want the user's own m1 and m9", got)
	}
	if got := subjects(w.local.Read(t, "alice")["INBOX"]); fmt.Sprint(got) != "[m2 m3 m4]" {
		t.Fatalf("local INBOX: %v", got)
	}

	now := time.Now().UTC().Truncate(time.Second)
	w.remote.Put(t, "Keep", mail(10, now.AddDate(0, 0, -400)), mail(11, now.AddDate(0, 0, -1)),
		mail(12, now.AddDate(0, 0, -31)), mail(13, now.AddDate(0, 0, -5)))
	cfg.beforeRemoteDelete = nil
	cfg.Task.MaxMessages = 0
	cfg.Task.Folders, cfg.Task.Exclude = task.FoldersAllExcept, []string{"^INBOX$"} // m1 and m9 stay uncopied
	cfg.Task.DeleteRemote, cfg.Task.RetentionDays = task.DeleteOlderThan, 30
	if sum := w.run(t, cfg); sum.DeletedRemote != 2 {
		t.Fatalf("older-than: %+v", sum)
	}
	remote := w.remote.Read(t)
	if got := subjects(remote["Keep"]); fmt.Sprint(got) != "[m11 m13]" {
		t.Fatalf("remote Keep after older-than: %v", got)
	}
	if got := subjects(remote["INBOX"]); fmt.Sprint(got) != "[m1 m9]" {
		t.Fatalf("older-than deleted uncopied messages: %v", got)
	}
	if got := subjects(w.local.Read(t, "alice")["INBOX"]); fmt.Sprint(got) != "[m2 m3 m4]" {
		t.Fatalf("local INBOX: %v", got)
	}
	if got := subjects(w.local.Read(t, "alice")["Keep"]); len(got) != 4 {
		t.Fatalf("local Keep: %v", got)
	}
	if sum := w.run(t, cfg); sum.DeletedRemote != 0 || sum.Copied != 0 {
		t.Fatalf("re-run: %+v", sum)
	}

	// A folder that had a failure in this run keeps its messages.
	r := &run{cfg: cfg, sum: &Summary{Failed: []Failure{{Folder: "Keep", UID: 11}}}}
	r.cfg.Task.DeleteRemote = task.DeleteAfterCopy
	r.cfg.defaults()
	var p pair
	defer p.close()
	if err := p.open(t.Context(), r.cfg); err != nil {
		t.Fatal(err)
	}
	uv := w.uidValidity(t, "Keep")
	if err := r.deleteRemote(&p, folders.Mapping{Remote: folders.Remote{Name: "Keep"}, Local: "Keep"}, uv); err != nil || r.sum.DeletedRemote != 0 {
		t.Fatalf("deleted from a failed folder: %+v %v", r.sum, err)
	}
	if got := subjects(w.remote.Read(t)["Keep"]); len(got) != 2 {
		t.Fatalf("remote Keep: %v", got)
	}
}

// On Gmail, deleting means moving to the Trash: expunging in a label
// folder would only remove the label.
func TestDeleteRemoteGmailMovesToTrash(t *testing.T) {
	t.Parallel()
	w := newRigWorld(t, rig.RemoteOptions{Separator: "/"})
	w.remote.Put(t, "INBOX", mails(1, 3)...)
	w.remote.Put(t, "[Gmail]/Trash")
	cfg := w.config()
	cfg.Task.Provider = task.ProviderGmail
	cfg.Task.DeleteRemote = task.DeleteAfterCopy
	if sum := w.run(t, cfg); sum.Copied != 3 || sum.DeletedRemote != 3 {
		t.Fatalf("run: %+v", sum)
	}
	remote := w.remote.Read(t)
	if len(remote["INBOX"]) != 0 || fmt.Sprint(subjects(remote["[Gmail]/Trash"])) != "[m1 m2 m3]" {
		t.Fatalf("remote after the run: INBOX %v, Trash %v", subjects(remote["INBOX"]), subjects(remote["[Gmail]/Trash"]))
	}
	if got := subjects(w.local.Read(t, "alice")["INBOX"]); len(got) != 3 {
		t.Fatalf("local INBOX: %v", got)
	}
	// The moved messages are known in the Trash: not copied again.
	if sum := w.run(t, cfg); sum.Copied != 0 {
		t.Fatalf("re-run copied the moved messages again: %+v", sum)
	}
	if got := w.local.Read(t, "alice")["Trash"]; len(got) != 0 {
		t.Fatalf("local Trash: %s", describe(got))
	}
}
