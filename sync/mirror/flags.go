package mirror

import (
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/sync/folders"
	"github.com/mailpull/mailpull/sync/ledger"
)

// syncFlags gives the local copies the flags of their remote message where
// they differ: the remote wins for every message it reports.
//
// With CONDSTORE only the messages changed since the last complete pass are
// asked for. Without it the flags of every copied message are fetched, but
// only on a run where STATUS moved: flag changes do not show in STATUS, so
// such a server's flag changes wait for the folder's next new or expunged
// message. Fetching them on every run would break the promise that an
// unchanged folder costs one round trip.
func (r *run) syncFlags(p *pair, m folders.Mapping, st *imap.StatusData, prev ledger.FolderState, known bool) error {
	since, changed := changedSince(p.remote.Caps(), st, prev, known)
	if !changed {
		return nil
	}
	mappings, err := r.cfg.Ledger.Mappings(m.Remote.Name, st.UIDValidity)
	if err != nil {
		return err
	}
	local := localFor(mappings)
	if len(local) == 0 {
		return nil
	}
	remote, err := remoteFlags(p.remote, local, since)
	if err != nil {
		return err
	}
	want := make(map[uint32][]imap.Flag, len(remote))
	for uid, f := range remote {
		want[local[uid]] = f
	}
	if len(want) == 0 {
		return nil
	}
	return r.storeFlags(p.local, m, prev, known, want)
}

// changedSince decides how to look for flag changes. With CONDSTORE and a
// complete pass at this UIDVALIDITY it returns that pass's HIGHESTMODSEQ,
// and whether STATUS moved past it (RFC 7162 §3.1.2.1: any flag change
// raises it). Otherwise 0: look at every copied message.
func changedSince(caps imap.CapSet, st *imap.StatusData, prev ledger.FolderState, known bool) (uint64, bool) {
	if !caps.Has(imap.CapCondStore) || !known || prev.HighestModSeq == 0 || st.HighestModSeq == 0 {
		return 0, true
	}
	return prev.HighestModSeq, st.HighestModSeq != prev.HighestModSeq
}

// remoteFlags fetches the flags of the copied messages of the selected
// folder: those whose MODSEQ is above since (RFC 7162 §3.1.4.1, CHANGEDSINCE)
// or, with since 0, all of them.
func remoteFlags(rc *imapclient.Client, local map[uint32]uint32, since uint64) (map[uint32][]imap.Flag, error) {
	var set imap.UIDSet
	if since > 0 {
		set.AddRange(1, 0)
	} else {
		for uid := range local {
			set.AddNum(imap.UID(uid))
		}
	}
	got, err := fetchFlags(rc, set, since)
	if err != nil {
		return nil, fmt.Errorf("remote: %w", err)
	}
	for uid := range got {
		if _, ok := local[uid]; !ok {
			delete(got, uid) // not copied (yet): the copy takes its flags
		}
	}
	return got, nil
}

// fetchFlags runs UID FETCH set (UID FLAGS), with CHANGEDSINCE when since is
// not 0, and returns the flags by UID, \Recent left out.
func fetchFlags(c *imapclient.Client, set imap.UIDSet, since uint64) (map[uint32][]imap.Flag, error) {
	cmd := c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true, ChangedSince: since})
	out := map[uint32][]imap.Flag{}
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		buf, err := msg.Collect() // UID, FLAGS and MODSEQ: small
		if err != nil {
			cmd.Close()
			return nil, err
		}
		if buf.UID != 0 {
			out[uint32(buf.UID)] = appendable(buf.Flags)
		}
	}
	if err := cmd.Close(); err != nil {
		return nil, fmt.Errorf("fetch flags: %w", err)
	}
	return out, nil
}

// storeFlags sets want (local UID → flags) on the local copies whose flags
// differ, with UID STORE FLAGS.SILENT: replace, not add (RFC 3501 §6.4.6).
func (r *run) storeFlags(lc *imapclient.Client, m folders.Mapping, prev ledger.FolderState, known bool, want map[uint32][]imap.Flag) error {
	sel, err := r.selectLocal(lc, m.Local, prev, known)
	if err != nil || sel == nil {
		return err
	}
	luids := make([]uint32, 0, len(want))
	for uid := range want {
		luids = append(luids, uid)
	}
	have, err := fetchFlags(lc, uidSet(luids), 0)
	if err != nil {
		return fmt.Errorf("local %q: %w", m.Local, err)
	}
	var cmds []*imapclient.FetchCommand
	n := 0
	for uid, flags := range want {
		cur, ok := have[uid]
		if !ok || sameFlags(cur, flags) {
			continue // the local copy is gone, or already right
		}
		n++
		r.cfg.Log.Info(r.would("flags updated"), "folder", m.Local, "local_uid", uid, "flags", flags)
		if !r.cfg.DryRun {
			cmds = append(cmds, lc.Store(imap.UIDSetNum(imap.UID(uid)),
				&imap.StoreFlags{Op: imap.StoreFlagsSet, Silent: true, Flags: flags}, nil))
		}
	}
	r.record(func(s *Summary) { s.FlagsUpdated += n })
	return closeAll(cmds)
}

// closeAll waits for pipelined STOREs and returns the first error.
func closeAll(cmds []*imapclient.FetchCommand) error {
	var first error
	for _, c := range cmds {
		if err := c.Close(); err != nil && first == nil {
			first = fmt.Errorf("store: %w", err)
		}
	}
	return first
}

// sameFlags compares two flag lists as sets; flags are case-insensitive
// (RFC 3501 §9, flag-keyword is an atom, compared as such by servers).
func sameFlags(a, b []imap.Flag) bool {
	if len(a) != len(b) {
		return false
	}
	set := make(map[string]bool, len(a))
	for _, f := range a {
		set[strings.ToLower(string(f))] = true
	}
	for _, f := range b {
		if !set[strings.ToLower(string(f))] {
			return false
		}
	}
	return true
}

// selectLocal selects a mirrored local folder, read-only on a dry run. It
// returns nil when the folder is gone or was re-created since the last
// complete pass: the ledger's local UIDs then name nothing, or other
// messages, and must not be acted on.
func (r *run) selectLocal(lc *imapclient.Client, folder string, prev ledger.FolderState, known bool) (*imap.SelectData, error) {
	sel, err := lc.Select(folder, &imap.SelectOptions{ReadOnly: r.cfg.DryRun}).Wait()
	if isNonexistent(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("select local %q: %w", folder, err)
	}
	if known && prev.LocalFolder == folder && sel.UIDValidity != prev.LocalUIDValidity {
		r.cfg.Log.Warn("local folder was re-created: its copies are not touched", "folder", folder,
			"uidvalidity", sel.UIDValidity, "was", prev.LocalUIDValidity)
		return nil, nil
	}
	return sel, nil
}

// would prefixes an action with "would " on a dry run.
func (r *run) would(action string) string {
	if r.cfg.DryRun {
		return "would: " + action
	}
	return action
}
