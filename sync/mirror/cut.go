package mirror

import (
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"

	"github.com/mailpull/mailpull/sync/ledger"
	"github.com/mailpull/mailpull/sync/remote"
)

// What a run does when a message breaks the remote connection is in
// sync/remote's cut.go; here is how a folder's batcher does it.

// metaCut handles a remote connection lost while fetching a batch's
// flags, dates and headers: the message at fault is unknown, so each is
// fetched again alone; one alone that cuts the connection twice fails.
func (b *batcher) metaCut(uids []imap.UID, err error) (int, error) {
	if lost, _ := b.p.lost(err); !lost || !closed(b.p.remote) {
		return 0, err
	}
	if err := b.reconnect(err); err != nil {
		return 0, err
	}
	if len(uids) == 1 && b.cuts.Again(uint32(uids[0])) {
		b.fail(b.m.Remote.Name, uint32(uids[0]), &remote.CutError{UID: uint32(uids[0]), What: "its flags, date and headers", Err: err})
		return 1, nil
	}
	failed := 0
	for _, uid := range uids {
		n, err := b.copy([]imap.UID{uid})
		if err != nil {
			return failed, err
		}
		failed += n
	}
	return failed, nil
}

// afterCut settles the batch whose stream a message cut off: it finds the
// copies that arrived before the cut, fails that message if it cut the
// connection before, and copies the rest of the batch, in order.
func (b *batcher) afterCut(in ledger.Intent, uids []imap.UID, cut *remote.CutError) (int, error) {
	if err := b.reconnect(cut); err != nil {
		return 0, err
	}
	found, err := adopt(b.p.local, in)
	if err != nil {
		return 0, err
	}
	if err := b.cfg.Ledger.Commit(in.ID, found); err != nil {
		return 0, err
	}
	if err := b.selectLocal(); err != nil { // adopt examined it
		return 0, err
	}
	b.record(func(s *Summary) { s.Copied += len(found) })
	done := map[uint32]bool{}
	for _, f := range found {
		done[f.RemoteUID] = true
	}
	failed := 0
	if b.cuts.Again(cut.UID) {
		b.fail(b.m.Remote.Name, cut.UID, cut)
		done[cut.UID], failed = true, 1
	}
	var rest []imap.UID
	for _, u := range uids {
		if !done[uint32(u)] {
			rest = append(rest, u)
		}
	}
	n, err := b.copy(rest)
	return n + failed, err
}

// reconnect replaces the worker's connections and selects the folder
// again on both sides.
// A server that stalled is not a message at fault: when the watchdog closed
// the connections, the run ends as a timeout.
func (b *batcher) reconnect(cause error) error {
	if b.p.wd != nil && b.p.wd.Stop() {
		return cause
	}
	if !b.cuts.Reconnect() {
		return interrupted(cause)
	}
	b.cfg.Log.Warn("remote connection lost during a message; reconnecting", "folder", b.m.Remote.Name, "err", cause)
	b.p.close()
	*b.p = pair{}
	if err := b.p.open(b.ctx, b.cfg); err != nil {
		return interrupted(err)
	}
	sel, err := b.p.remote.Select(b.m.Remote.Name, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return fmt.Errorf("select: %w", err)
	}
	if sel.UIDValidity != b.uidvalidity {
		return errors.New("UIDVALIDITY changed during the run")
	}
	return b.selectLocal()
}
