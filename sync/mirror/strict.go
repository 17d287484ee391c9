package mirror

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/sync/folders"
	"github.com/mailpull/mailpull/sync/ledger"
)

// maxLocalShare is the percentage of a local folder's messages that
// delete-local removes in one run without Config.Force: a remote that
// suddenly lacks a folder's mail (a restore, a server fault, another
// account behind the same login) must not empty the local copy.
const maxLocalShare = 10

// errTooMany is the refusal of a deletion above maxLocalShare.
var errTooMany = errors.New("refused")

// deleteLocal (strict mirror) deletes the local copies of the messages gone
// from the remote folder: done, not deleted by mailpull itself, and absent
// from this pass's UID SEARCH ALL at the same UIDVALIDITY. Without a
// complete earlier pass the local folder's UIDVALIDITY is unknown, and so
// is what its UIDs name: nothing is deleted.
func (r *run) deleteLocal(p *pair, m folders.Mapping, uidvalidity uint32, prev ledger.FolderState, known bool, all []imap.UID) error {
	if !r.cfg.Task.DeleteLocal || !known {
		return nil
	}
	name := m.Remote.Name
	left, err := r.cfg.Ledger.Deletable(name, uidvalidity)
	if err != nil {
		return err
	}
	gone := absent(left, all)
	if len(gone) == 0 {
		return nil
	}
	luids, err := r.localUIDs(name, uidvalidity, gone)
	if err != nil {
		return err
	}
	if _, _, err := r.removeLocal(p.local, prev, luids); err != nil {
		return err
	}
	return r.markGone(name, uidvalidity, gone)
}

// markGone records that the remote copies are gone, so that later runs do
// not count them again.
func (r *run) markGone(folder string, uidvalidity uint32, gone []uint32) error {
	if r.cfg.DryRun {
		return nil
	}
	return r.cfg.Ledger.MarkDeleted(folder, uidvalidity, gone)
}

// absent returns the UIDs of left that are not in all (sorted).
func absent(left []uint32, all []imap.UID) []uint32 {
	there := make(map[uint32]bool, len(all))
	for _, u := range all {
		there[uint32(u)] = true
	}
	var out []uint32
	for _, u := range left {
		if !there[u] {
			out = append(out, u)
		}
	}
	return out
}

// localUIDs returns the local UIDs of the remote UIDs, where known.
func (r *run) localUIDs(folder string, uidvalidity uint32, remote []uint32) ([]uint32, error) {
	mappings, err := r.cfg.Ledger.Mappings(folder, uidvalidity)
	if err != nil {
		return nil, err
	}
	local := localFor(mappings)
	var out []uint32
	for _, u := range remote {
		if l, ok := local[u]; ok {
			out = append(out, l)
		}
	}
	return out, nil
}

// removeLocal expunges exactly luids from prev.LocalFolder, unless that is
// more than maxLocalShare of it and the run is not forced. It returns the
// selected folder (nil if it is gone or was re-created: nothing is
// touched) and how many messages went.
func (r *run) removeLocal(lc *imapclient.Client, prev ledger.FolderState, luids []uint32) (*imap.SelectData, int, error) {
	folder := prev.LocalFolder
	sel, err := r.selectLocal(lc, folder, prev, true)
	if err != nil || sel == nil || len(luids) == 0 {
		return sel, 0, err
	}
	if !r.cfg.Force && len(luids)*100 > maxLocalShare*int(sel.NumMessages) {
		return sel, 0, fmt.Errorf("%w to delete %d of the %d messages of local folder %q, more than %d%%, because the remote no longer has them: check the remote account, then run sync --force",
			errTooMany, len(luids), sel.NumMessages, folder, maxLocalShare)
	}
	r.cfg.Log.Info(r.would("delete local copies"), "folder", folder, "messages", len(luids))
	n := len(luids)
	if !r.cfg.DryRun {
		if n, err = expunge(lc, uidSet(luids)); err != nil {
			return sel, 0, fmt.Errorf("local %q: %w", folder, err)
		}
	}
	r.record(func(s *Summary) { s.DeletedLocal += n })
	return sel, n, nil
}

// goneFolders (strict mirror) empties and deletes the local folders of the
// remote folders that are gone: in the ledger, and no longer listed at all
// (a folder the task now excludes is not gone). A listing with names
// go-imap could not decode is not complete enough to tell.
func (r *run) goneFolders(ctx context.Context, plan folders.Plan, sep rune) error {
	if !r.cfg.Task.DeleteLocal {
		return nil
	}
	if len(r.listing.Undecodable) > 0 {
		r.cfg.Log.Warn("gone remote folders not looked for: some remote folder names could not be read")
		return nil
	}
	gone, err := r.goneNames()
	if err != nil || len(gone) == 0 {
		return err
	}
	lc, err := r.cfg.Local(ctx)
	if err != nil {
		return err
	}
	defer lc.Close()
	keep := map[string]bool{}
	for _, m := range plan.Folders {
		keep[m.Local] = true
	}
	for _, name := range plan.Create {
		keep[name] = true
	}
	for _, name := range gone {
		if err := r.goneFolder(lc, name, keep, sep); err != nil {
			if closed(lc) {
				return interrupted(err)
			}
			r.fail(name, 0, fmt.Errorf("remote folder is gone: %w", err))
		}
	}
	return nil
}

func (r *run) goneNames() ([]string, error) {
	names, err := r.cfg.Ledger.Folders()
	if err != nil {
		return nil, err
	}
	listed := map[string]bool{}
	for _, f := range r.listing.Folders {
		listed[f.Name] = true
	}
	var gone []string
	for _, n := range names {
		if !listed[n] {
			gone = append(gone, n)
		}
	}
	return gone, nil
}

// goneFolder deletes the local copies of a gone remote folder, then its
// local folder if that is left empty, and forgets the folder. A state
// without a complete pass leaves everything in place, ledger included.
func (r *run) goneFolder(lc *imapclient.Client, name string, keep map[string]bool, sep rune) error {
	uvs, err := r.cfg.Ledger.UIDValidities(name)
	if err != nil {
		return err
	}
	for _, uv := range uvs {
		prev, known, err := r.cfg.Ledger.Folder(name, uv)
		if err != nil {
			return err
		}
		if !known {
			r.cfg.Log.Warn("gone remote folder left alone: no complete pass recorded", "folder", name)
			return nil
		}
		if err := r.emptyGone(lc, name, uv, prev, keep, sep); err != nil {
			return err
		}
	}
	if r.cfg.DryRun {
		return nil
	}
	return r.cfg.Ledger.Forget(name)
}

func (r *run) emptyGone(lc *imapclient.Client, name string, uv uint32, prev ledger.FolderState, keep map[string]bool, sep rune) error {
	left, err := r.cfg.Ledger.Deletable(name, uv)
	if err != nil {
		return err
	}
	luids, err := r.localUIDs(name, uv, left)
	if err != nil {
		return err
	}
	sel, n, err := r.removeLocal(lc, prev, luids)
	if err != nil || sel == nil {
		return err
	}
	if int(sel.NumMessages) > n || keep[prev.LocalFolder] {
		return nil // the user's own messages, or the folder of another mapping
	}
	return r.removeFolder(lc, prev.LocalFolder, sep)
}

// removeFolder deletes an empty local folder that mailpull mapped: never
// INBOX, never one with children.
func (r *run) removeFolder(lc *imapclient.Client, folder string, sep rune) error {
	if strings.EqualFold(folder, "INBOX") {
		return nil
	}
	kids, err := lc.List("", folder+string(sep)+"%", nil).Collect()
	if err != nil {
		return fmt.Errorf("list below local %q: %w", folder, err)
	}
	if len(kids) > 0 {
		return nil
	}
	r.cfg.Log.Info(r.would("delete local folder"), "folder", folder)
	r.record(func(s *Summary) { s.Removed = append(s.Removed, folder) })
	if r.cfg.DryRun {
		return nil
	}
	// Leave the folder first: a server may refuse to delete the selected one.
	if _, err := lc.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return fmt.Errorf("select local INBOX: %w", err)
	}
	if err := lc.Delete(folder).Wait(); err != nil {
		return fmt.Errorf("delete local folder %q: %w", folder, err)
	}
	return nil
}
