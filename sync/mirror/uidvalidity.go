package mirror

import (
	"fmt"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/sync/folders"
	"github.com/mailpull/mailpull/sync/ledger"
)

// readopt handles a UIDVALIDITY change of the remote folder (RFC 3501
// §2.3.1.1: every UID of the folder is new). The local copies made under an
// older UIDVALIDITY are matched with the folder's messages now, by
// Message-ID, size and internal date, each local message claimed at most
// once, and recorded as copies under the new one; only the rest is copied
// again. The older UIDVALIDITY is then forgotten. Nothing is deleted on
// either side. It returns the remote UIDs adopted, which on a dry run are
// not in the ledger.
func (r *run) readopt(p *pair, m folders.Mapping, uidvalidity uint32) ([]uint32, error) {
	olds, err := r.oldUIDValidities(m.Remote.Name, uidvalidity)
	if err != nil || len(olds) == 0 {
		return nil, err
	}
	remote, err := r.remoteMetas(p.remote, m.Remote.Name, uidvalidity)
	if err != nil {
		return nil, err
	}
	var adopted []uint32
	for _, old := range olds {
		got, err := r.readoptFrom(p.local, m, uidvalidity, old, remote)
		if err != nil {
			return nil, err
		}
		adopted = append(adopted, got...)
		remote = unclaimed(remote, got)
	}
	slices.Sort(adopted) // for without
	return adopted, nil
}

func (r *run) oldUIDValidities(folder string, uidvalidity uint32) ([]uint32, error) {
	uvs, err := r.cfg.Ledger.UIDValidities(folder)
	if err != nil {
		return nil, err
	}
	var olds []uint32
	for _, uv := range uvs {
		if uv != uidvalidity {
			olds = append(olds, uv)
		}
	}
	return olds, nil
}

// remoteMetas returns what identifies each message of the folder that is
// not a known copy under uidvalidity yet (an earlier run may have re-adopted
// some before it died).
func (r *run) remoteMetas(rc *imapclient.Client, folder string, uidvalidity uint32) ([]meta, error) {
	sel, err := rc.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, fmt.Errorf("select: %w", err)
	}
	if sel.UIDValidity != uidvalidity || sel.NumMessages == 0 {
		return nil, nil // changed again: the next run sees it
	}
	var all imap.UIDSet
	all.AddRange(1, 0)
	metas, err := fetchMeta(rc, all)
	if err != nil {
		return nil, err
	}
	done, err := r.cfg.Ledger.Done(folder, uidvalidity)
	if err != nil {
		return nil, err
	}
	return unclaimed(metas, done), nil
}

// unclaimed returns the metas whose UID is not in uids.
func unclaimed(metas []meta, uids []uint32) []meta {
	taken := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		taken[u] = true
	}
	var out []meta
	for _, m := range metas {
		if !taken[m.uid] {
			out = append(out, m)
		}
	}
	return out
}

// readoptFrom matches the local copies recorded under old with remote, and
// records the matches under uidvalidity before it forgets old: a crash in
// between leaves old to be matched again, minus what is recorded already.
func (r *run) readoptFrom(lc *imapclient.Client, m folders.Mapping, uidvalidity, old uint32, remote []meta) ([]uint32, error) {
	name := m.Remote.Name
	local, sel, err := r.oldCopies(lc, m, uidvalidity, old)
	if err != nil {
		return nil, err
	}
	var matched []ledger.Mapping
	if sel != nil && len(local) > 0 && len(remote) > 0 {
		matched = match(intentMessages(remote), local)
	}
	r.cfg.Log.Info(r.would("UIDVALIDITY changed: local copies re-adopted"), "folder", name,
		"uidvalidity", uidvalidity, "was", old, "adopted", len(matched), "of", len(local))
	r.record(func(s *Summary) { s.Adopted += len(matched) })
	if r.cfg.DryRun {
		return remoteUIDs(matched), nil
	}
	if len(matched) > 0 {
		if err := r.recordAdopted(m, uidvalidity, sel, remote, matched); err != nil {
			return nil, err
		}
	}
	return remoteUIDs(matched), r.cfg.Ledger.ForgetUIDValidity(name, old)
}

// oldCopies fetches what identifies the local copies recorded under old,
// leaving out those already claimed under uidvalidity. The local folder
// must be the one the folder maps to now, and not re-created since.
func (r *run) oldCopies(lc *imapclient.Client, m folders.Mapping, uidvalidity, old uint32) ([]meta, *imap.SelectData, error) {
	prev, known, err := r.cfg.Ledger.Folder(m.Remote.Name, old)
	if err != nil || (known && prev.LocalFolder != m.Local) {
		return nil, nil, err
	}
	mine, err := r.cfg.Ledger.Mappings(m.Remote.Name, old)
	if err != nil {
		return nil, nil, err
	}
	claimed, err := r.cfg.Ledger.Mappings(m.Remote.Name, uidvalidity)
	if err != nil {
		return nil, nil, err
	}
	luids := localOnly(mine, claimed)
	sel, err := r.selectLocal(lc, m.Local, prev, known)
	if err != nil || sel == nil || len(luids) == 0 {
		return nil, sel, err
	}
	local, err := fetchMeta(lc, uidSet(luids))
	if err != nil {
		return nil, nil, fmt.Errorf("local %q: %w", m.Local, err)
	}
	return local, sel, nil
}

// localOnly returns the known local UIDs of mine that claimed does not hold.
func localOnly(mine, claimed []ledger.Mapping) []uint32 {
	taken := map[uint32]bool{}
	for _, c := range claimed {
		taken[c.LocalUID] = true
	}
	var out []uint32
	for _, mp := range mine {
		if mp.LocalUID != 0 && !taken[mp.LocalUID] {
			out = append(out, mp.LocalUID)
		}
	}
	return out
}

// recordAdopted writes the matches as an intent committed at once: the
// intent's local UIDNEXT is the folder's now, so an intent a crash leaves
// open settles to nothing, and the old UIDVALIDITY is matched again.
func (r *run) recordAdopted(m folders.Mapping, uidvalidity uint32, sel *imap.SelectData, remote []meta, matched []ledger.Mapping) error {
	byUID := make(map[uint32]meta, len(remote))
	for _, rm := range remote {
		byUID[rm.uid] = rm
	}
	in := ledger.Intent{Folder: m.Remote.Name, UIDValidity: uidvalidity, LocalFolder: m.Local,
		LocalUIDValidity: sel.UIDValidity, LocalUIDNext: uint32(sel.UIDNext)}
	for _, mp := range matched {
		rm := byUID[mp.RemoteUID]
		in.Messages = append(in.Messages, ledger.IntentMessage{UID: rm.uid, Size: rm.size, Date: rm.date, MessageID: rm.messageID})
	}
	id, err := r.cfg.Ledger.Begin(in)
	if err != nil {
		return err
	}
	return r.cfg.Ledger.Commit(id, matched)
}

func intentMessages(metas []meta) []ledger.IntentMessage {
	out := make([]ledger.IntentMessage, 0, len(metas))
	for _, m := range metas {
		out = append(out, ledger.IntentMessage{UID: m.uid, Size: m.size, Date: m.date, MessageID: m.messageID})
	}
	return out
}

func remoteUIDs(ms []ledger.Mapping) []uint32 {
	out := make([]uint32, 0, len(ms))
	for _, mp := range ms {
		out = append(out, mp.RemoteUID)
	}
	return out
}
