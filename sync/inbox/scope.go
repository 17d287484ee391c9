package inbox

import (
	"fmt"
	"slices"

	"github.com/emersion/go-imap/v2"

	"github.com/mailpull/mailpull/sync/ledger"
	"github.com/mailpull/mailpull/sync/remote"
	"github.com/mailpull/mailpull/task"
)

// todo returns the UIDs to deliver, ascending: those in scope and not yet
// delivered. What was there before the first run is in scope as the task's
// first_run says: unseen (what is unread at each run), all, or new (none);
// whatever arrived since is in scope whether it was read or not, which is
// what makes mail read on a phone between two runs arrive all the same.
func (r *run) todo() ([]imap.UID, error) {
	cut, err := r.firstRunCut()
	if err != nil {
		return nil, err
	}
	all, err := r.search(&imap.SearchCriteria{})
	if err != nil {
		return nil, err
	}
	inScope := all
	if policy := r.firstRun(); policy != task.FirstRunAll {
		inScope = from(all, cut)
		if policy == task.FirstRunUnseen && cut > 1 {
			unseen, err := r.search(unseenBelow(cut))
			if err != nil {
				return nil, err
			}
			inScope = append(unseen, inScope...)
		}
	}
	done, err := r.cfg.Ledger.Done(Folder, r.uidvalidity)
	if err != nil {
		return nil, err
	}
	todo := remote.Without(inScope, done)
	r.sum.Skipped += len(all) - len(remote.Without(all, done))
	return todo, nil
}

// firstRun is the task's policy for the mail that predates the first run.
// After a UIDVALIDITY change every UID is new and the ledger's old ones mean
// nothing: unseen is then the only safe guess, since delivered mail was
// marked \Seen.
func (r *run) firstRun() string {
	if r.uidvalidityChanged {
		return task.FirstRunUnseen
	}
	if r.cfg.Task.FirstRun == "" {
		return task.FirstRunUnseen
	}
	return r.cfg.Task.FirstRun
}

// firstRunCut returns the remote UIDNEXT of the first run at this
// UIDVALIDITY, recording it now if this is that run. It also notes whether
// the ledger knows an older UIDVALIDITY, whose records it keeps for good.
func (r *run) firstRunCut() (uint32, error) {
	known, err := r.cfg.Ledger.UIDValidities(Folder)
	if err != nil {
		return 0, err
	}
	r.uidvalidityChanged = slices.ContainsFunc(known, func(v uint32) bool { return v != r.uidvalidity })
	st, ok, err := r.cfg.Ledger.Folder(Folder, r.uidvalidity)
	if err != nil || (ok && st.FirstRunUIDNext != 0) {
		return st.FirstRunUIDNext, err
	}
	if r.uidvalidityChanged {
		r.cfg.Log.Warn("the remote INBOX's UIDVALIDITY changed: only unread mail is delivered", "uidvalidity", r.uidvalidity)
	}
	if r.cfg.DryRun {
		return r.uidnext, nil
	}
	return r.uidnext, r.cfg.Ledger.SetFolder(Folder, r.uidvalidity, ledger.FolderState{FirstRunUIDNext: r.uidnext})
}

func unseenBelow(cut uint32) *imap.SearchCriteria {
	var below imap.UIDSet
	below.AddRange(1, imap.UID(cut-1))
	return &imap.SearchCriteria{UID: []imap.UIDSet{below}, NotFlag: []imap.Flag{imap.FlagSeen}}
}

func (r *run) search(c *imap.SearchCriteria) ([]imap.UID, error) {
	data, err := r.remote.UIDSearch(c, nil).Wait()
	if err != nil {
		return nil, fmt.Errorf("search remote %s: %w", Folder, err)
	}
	uids := data.AllUIDs()
	slices.Sort(uids)
	return uids, nil
}

// from returns the UIDs of sorted that are at least cut.
func from(sorted []imap.UID, cut uint32) []imap.UID {
	i, _ := slices.BinarySearch(sorted, imap.UID(cut))
	return sorted[i:]
}
