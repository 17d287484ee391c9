package inbox

import (
	"fmt"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailpull/mailpull/task"
)

// markSeen sets \Seen on the remote copies of the delivered messages whose
// flag is still owed: those of this run, and those of a run that died
// between delivery and STORE.
func (r *run) markSeen() error {
	uids, err := r.cfg.Ledger.PendingSeen(Folder, r.uidvalidity)
	if err != nil || len(uids) == 0 {
		return err
	}
	if r.cfg.DryRun {
		r.cfg.Log.Info("would mark seen on the remote", "messages", len(uids))
		return nil
	}
	// RFC 3501 §6.4.6: +FLAGS adds to the message's flags, so \Flagged and
	// keywords stay (a plain FLAGS would replace them, as getmail does);
	// .SILENT spares the untagged FETCH of every message's new flags.
	store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}
	if err := r.remote.Store(uidSet(uids), store, nil).Close(); err != nil {
		return fmt.Errorf("mark seen on the remote: %w", err)
	}
	if err := r.cfg.Ledger.MarkSeen(Folder, r.uidvalidity, uids); err != nil {
		return err
	}
	r.sum.SeenSet += len(uids)
	return nil
}

// deleteRemote expunges, among the messages the ledger shows delivered,
// all (after-copy) or those older than the retention (older-than). Only
// UID EXPUNGE (RFC 4315) is used: a bare EXPUNGE would also purge whatever
// the user marked \Deleted on the remote.
func (r *run) deleteRemote() error {
	policy := r.cfg.Task.DeleteRemote
	if policy != task.DeleteAfterCopy && policy != task.DeleteOlderThan {
		return nil
	}
	if !r.remote.Caps().Has(imap.CapUIDPlus) {
		r.cfg.Log.Warn("remote deletion skipped: the server lacks UIDPLUS, and a bare EXPUNGE could purge other mail")
		return nil
	}
	uids, err := r.cfg.Ledger.Deletable(Folder, r.uidvalidity)
	if err != nil || len(uids) == 0 {
		return err
	}
	if policy == task.DeleteOlderThan {
		if uids, err = r.aged(uids); err != nil || len(uids) == 0 {
			return err
		}
	}
	return r.expunge(uids)
}

// aged keeps the UIDs whose internal date is more than RetentionDays old.
// SEARCH BEFORE compares dates only (RFC 3501 §6.4.4): a message may stay a
// day longer, never less.
func (r *run) aged(uids []uint32) ([]uint32, error) {
	before := r.cfg.Now().Add(-time.Duration(r.cfg.Task.RetentionDays) * 24 * time.Hour)
	data, err := r.remote.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{uidSet(uids)}, Before: before}, nil).Wait()
	if err != nil {
		return nil, fmt.Errorf("search old messages on the remote: %w", err)
	}
	var out []uint32
	for _, u := range data.AllUIDs() {
		out = append(out, uint32(u))
	}
	return out, nil
}

func (r *run) expunge(uids []uint32) error {
	set := uidSet(uids)
	store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}
	if err := r.remote.Store(set, store, nil).Close(); err != nil {
		return fmt.Errorf("delete on the remote: %w", err)
	}
	if err := r.remote.UIDExpunge(set).Close(); err != nil {
		return fmt.Errorf("delete on the remote: uid expunge: %w", err)
	}
	if err := r.cfg.Ledger.MarkDeleted(Folder, r.uidvalidity, uids); err != nil {
		return err
	}
	r.sum.DeletedRemote += len(uids)
	return nil
}

func uidSet(uids []uint32) imap.UIDSet {
	var s imap.UIDSet
	for _, u := range uids {
		s.AddNum(imap.UID(u))
	}
	return s
}
