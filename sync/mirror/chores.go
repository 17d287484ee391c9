package mirror

import (
	"fmt"

	"github.com/emersion/go-imap/v2"

	"github.com/mailpull/mailpull/sync/folders"
	"github.com/mailpull/mailpull/sync/ledger"
)

// chores carries the remote's changes to messages copied before: flags,
// then (strict mirror) expunges. A failure of either is the folder's, and
// keeps the folder's STATUS out of the ledger so that the next run retries.
func (r *run) chores(p *pair, m folders.Mapping, st *imap.StatusData, prev ledger.FolderState, known bool, all []imap.UID) error {
	name := m.Remote.Name
	if err := r.step(p, name, "flags", r.syncFlags(p, m, st, prev, known)); err != nil {
		return err
	}
	return r.step(p, name, "delete local copies", r.deleteLocal(p, m, st.UIDValidity, prev, known, all))
}

// step records err as a failure of the folder and returns nil, unless a
// connection broke: then the worker must stop, and err goes up.
func (r *run) step(p *pair, folder, what string, err error) error {
	if err == nil {
		return nil
	}
	if p.broken() {
		return fmt.Errorf("%s: %w", what, err)
	}
	r.fail(folder, 0, fmt.Errorf("%s: %w", what, err))
	return nil
}

// failedIn reports whether anything of folder failed in this run.
func (r *run) failedIn(folder string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.sum.Failed {
		if f.Folder == folder {
			return true
		}
	}
	return false
}

// localFor maps the remote UIDs of mappings to their local UIDs, leaving out
// those whose local UID is unknown.
func localFor(mappings []ledger.Mapping) map[uint32]uint32 {
	out := make(map[uint32]uint32, len(mappings))
	for _, mp := range mappings {
		if mp.LocalUID != 0 {
			out[mp.RemoteUID] = mp.LocalUID
		}
	}
	return out
}

func uidSet(uids []uint32) imap.UIDSet {
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(imap.UID(u))
	}
	return set
}
