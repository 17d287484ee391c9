package mirror

import (
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/sync/folders"
	"github.com/mailpull/mailpull/task"
)

// deleteRemote deletes on the remote the copied messages the task's
// delete-remote says to: all of them (after-copy), or those whose internal
// date is older than the retention (older-than). Only UIDs the ledger shows
// as done are candidates, and nothing is deleted from a folder that had a
// failure in this run.
func (r *run) deleteRemote(p *pair, m folders.Mapping, uidvalidity uint32) error {
	name := m.Remote.Name
	if r.cfg.Task.DeleteRemote != task.DeleteAfterCopy && r.cfg.Task.DeleteRemote != task.DeleteOlderThan {
		return nil
	}
	if r.failedIn(name) {
		r.cfg.Log.Warn("remote deletion skipped: the folder had failures in this run", "folder", name)
		return nil
	}
	trash, ok := r.remover(p.remote, m)
	if !ok {
		return nil
	}
	done, err := r.cfg.Ledger.Done(name, uidvalidity)
	if err != nil || len(done) == 0 {
		return err
	}
	uids, err := r.deletable(p.remote, name, uidvalidity, done)
	if err != nil || len(uids) == 0 {
		return err
	}
	if r.cfg.beforeRemoteDelete != nil {
		r.cfg.beforeRemoteDelete(name)
	}
	r.cfg.Log.Info(r.would("delete on the remote"), "folder", name, "messages", len(uids), "to_trash", trash)
	r.record(func(s *Summary) { s.DeletedRemote += len(uids) })
	if r.cfg.DryRun {
		return nil
	}
	// Recorded first: after a crash between the expunge and the record, a
	// strict mirror would take the messages for gone and delete their only
	// copy. A record without the expunge only leaves mail on the remote, and
	// the next pass that finds those UIDs still there deletes them again.
	if trash != "" {
		r.deferMove(pendingMove{m: m, uidvalidity: uidvalidity, uids: uids, trash: trash})
		return nil
	}
	if err := r.cfg.Ledger.MarkDeleted(name, uidvalidity, uids); err != nil {
		return err
	}
	_, err = expunge(p.remote, uidSet(uids))
	return err
}

// agedDeletions serves delete-remote on a folder whose STATUS did not move:
// copies still age (older-than), and a task may have been switched to
// after-copy since they were made. The ledger tells without a round trip
// whether any copy may still be on the remote; only then is the folder
// selected and searched. (A copy someone else expunged stays a candidate
// until delete-local handles it, so such a folder costs that search.)
func (r *run) agedDeletions(p *pair, m folders.Mapping, uidvalidity uint32) error {
	if r.cfg.Task.DeleteRemote != task.DeleteOlderThan && r.cfg.Task.DeleteRemote != task.DeleteAfterCopy {
		return nil
	}
	left, err := r.cfg.Ledger.Deletable(m.Remote.Name, uidvalidity)
	if err != nil || len(left) == 0 {
		return err
	}
	return r.step(p, m.Remote.Name, "delete on the remote", r.deleteRemote(p, m, uidvalidity))
}

// deletable selects the folder for writing (read-only on a dry run) and
// searches, among the done UIDs, those still there and, for older-than,
// old enough. SEARCH BEFORE compares dates only, in the server's time zone
// (RFC 3501 §6.4.4): a message may stay up to a day longer, never less.
func (r *run) deletable(rc *imapclient.Client, name string, uidvalidity uint32, done []uint32) ([]uint32, error) {
	sel, err := rc.Select(name, &imap.SelectOptions{ReadOnly: r.cfg.DryRun}).Wait()
	if err != nil {
		return nil, fmt.Errorf("select: %w", err)
	}
	if sel.UIDValidity != uidvalidity {
		return nil, fmt.Errorf("UIDVALIDITY changed during the run (%d, then %d)", uidvalidity, sel.UIDValidity)
	}
	crit := &imap.SearchCriteria{UID: []imap.UIDSet{uidSet(done)}}
	if r.cfg.Task.DeleteRemote == task.DeleteOlderThan {
		crit.Before = time.Now().AddDate(0, 0, -r.cfg.Task.RetentionDays)
	}
	found, err := rc.UIDSearch(crit, nil).Wait()
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	var out []uint32
	for _, u := range found.AllUIDs() {
		out = append(out, uint32(u))
	}
	return out, nil
}

// remover decides how the folder's messages are deleted: expunged (trash
// "") or, on Gmail, moved to the Trash folder, since expunging in a label
// folder only removes the label. ok is false when the server cannot delete
// exactly the chosen messages; that is logged, and nothing is deleted.
func (r *run) remover(rc *imapclient.Client, m folders.Mapping) (trash string, ok bool) {
	caps := rc.Caps()
	uidExpunge := caps.Has(imap.CapUIDPlus) || caps.Has(imap.CapIMAP4rev2)
	if r.cfg.Task.Provider == task.ProviderGmail && m.Role != folders.RoleTrash && m.Role != folders.RoleJunk {
		trash = r.trashFolder()
		switch {
		case trash == "":
			r.cfg.Log.Warn("remote deletion skipped: no Trash folder to move the messages to", "folder", m.Remote.Name)
			return "", false
		case !uidExpunge:
			// Without UIDPLUS go-imap's MOVE fallback ends with a bare
			// EXPUNGE, and no COPYUID tells which Trash messages are ours.
			r.cfg.Log.Warn("remote deletion skipped: the server lacks UIDPLUS", "folder", m.Remote.Name)
			return "", false
		}
		return trash, true
	}
	if !uidExpunge {
		r.cfg.Log.Warn(`remote deletion skipped: the server lacks UIDPLUS, and a bare EXPUNGE would also remove the user's own \Deleted messages`,
			"folder", m.Remote.Name)
		return "", false
	}
	return "", true
}

// trashFolder finds the remote Trash: the \Trash special-use folder (RFC
// 6154), else Gmail's names for it.
func (r *run) trashFolder() string {
	for _, f := range r.listing.Folders {
		if f.Has(imap.MailboxAttrTrash) {
			return f.Name
		}
	}
	for _, f := range r.listing.Folders {
		name := f.Name
		if f.Delim != 0 {
			name = strings.ReplaceAll(name, string(f.Delim), "/")
		}
		switch strings.ToLower(name) {
		case "[gmail]/trash", "[gmail]/bin", "[google mail]/trash", "[google mail]/bin":
			return f.Name
		}
	}
	return ""
}

// expunge sets \Deleted on set and expunges exactly set, and returns how
// many messages went. UID EXPUNGE (RFC 4315 §2.1) removes only the
// \Deleted messages of its set; a bare EXPUNGE (RFC 3501 §6.4.3) would
// remove every \Deleted message of the folder, the user's own included.
func expunge(c *imapclient.Client, set imap.UIDSet) (int, error) {
	store := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil)
	if err := store.Close(); err != nil {
		return 0, fmt.Errorf("store \\Deleted: %w", err)
	}
	gone, err := c.UIDExpunge(set).Collect()
	if err != nil {
		return 0, fmt.Errorf("uid expunge: %w", err)
	}
	return len(gone), nil
}
