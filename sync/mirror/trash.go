package mirror

import (
	"context"
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/sync/folders"
	"github.com/mailpull/mailpull/sync/ledger"
)

// pendingMove is a Gmail deletion: copied messages to move to the Trash.
type pendingMove struct {
	m           folders.Mapping
	uidvalidity uint32
	uids        []uint32
	trash       string
}

// deferMove queues a move until every folder is copied. Moved earlier, the
// messages could reach the Trash before the Trash folder's own copy looked
// at it, and be copied a second time, into the local Trash.
func (r *run) deferMove(mv pendingMove) {
	r.record(func(*Summary) { r.moves = append(r.moves, mv) })
}

// moveToTrash runs the queued Gmail deletions on one remote connection.
func (r *run) moveToTrash(ctx context.Context) error {
	if len(r.moves) == 0 {
		return nil
	}
	rc, err := r.cfg.Remote(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	for _, mv := range r.moves {
		if err := r.move(rc, mv); err != nil {
			if closed(rc) {
				return interrupted(fmt.Errorf("%s: move to %q: %w", mv.m.Remote.Name, mv.trash, err))
			}
			r.fail(mv.m.Remote.Name, 0, fmt.Errorf("move to %q: %w", mv.trash, err))
		}
	}
	return nil
}

// move marks the messages deleted first (see deleteRemote), then moves
// them, and records their Trash UIDs (RFC 4315 §3, COPYUID) as copies
// already made, so that the Trash folder's next pass does not copy them
// again.
func (r *run) move(rc *imapclient.Client, mv pendingMove) error {
	sel, err := rc.Select(mv.m.Remote.Name, nil).Wait()
	if err != nil {
		return fmt.Errorf("select: %w", err)
	}
	if sel.UIDValidity != mv.uidvalidity {
		return fmt.Errorf("UIDVALIDITY changed during the run (%d, then %d)", mv.uidvalidity, sel.UIDValidity)
	}
	if err := r.cfg.Ledger.MarkDeleted(mv.m.Remote.Name, mv.uidvalidity, mv.uids); err != nil {
		return err
	}
	data, err := rc.Move(uidSet(mv.uids), mv.trash).Wait()
	if err != nil {
		return err
	}
	return r.recordMoved(mv, data)
}

func (r *run) recordMoved(mv pendingMove, data *imapclient.MoveData) error {
	var uids []imap.UID
	if data != nil {
		if dest, ok := data.DestUIDs.(imap.UIDSet); ok {
			uids, _ = dest.Nums()
		}
	}
	if len(uids) == 0 || data.UIDValidity == 0 {
		r.cfg.Log.Warn("moved to the Trash without COPYUID: the Trash copy may copy them again", "folder", mv.m.Remote.Name)
		return nil
	}
	// The local folder and UIDVALIDITY 0 make a crash before Commit settle
	// to nothing: the messages are then copied from the Trash, never lost.
	in := ledger.Intent{Folder: mv.trash, UIDValidity: data.UIDValidity, LocalFolder: mv.m.Local}
	done := make([]ledger.Mapping, 0, len(uids))
	for _, u := range uids {
		in.Messages = append(in.Messages, ledger.IntentMessage{UID: uint32(u)})
		done = append(done, ledger.Mapping{RemoteUID: uint32(u)})
	}
	id, err := r.cfg.Ledger.Begin(in)
	if err != nil {
		return err
	}
	return r.cfg.Ledger.Commit(id, done)
}
