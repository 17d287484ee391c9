package inbox

import (
	"context"
	"errors"

	"github.com/emersion/go-imap/v2"

	"github.com/mailpull/mailpull/sync/ledger"
	"github.com/mailpull/mailpull/sync/remote"
)

// What a run does when a message breaks the remote connection is in
// sync/remote's cut.go; here is how an INBOX run does it.

// cutOr is err as the remote's cut when the body cr read was cut off (a
// read error, or the literal's end before its size; not a write error that
// stopped the copy), else err as it is.
func cutOr(cr *remote.CutReader, uid uint32, size int64, err error) error {
	if !cr.Cut(size) {
		return err
	}
	return cr.BodyCut(uid, size, err)
}

// metaCut handles a connection lost while fetching a batch's metadata: the
// message at fault is unknown, so each is asked for again alone; one that
// cuts the connection twice alone fails.
func (r *run) metaCut(ctx context.Context, uids []imap.UID, err error) error {
	var ie *imap.Error
	if errors.As(err, &ie) {
		return err // an answer, not a cut
	}
	if err := r.reconnect(ctx, err); err != nil {
		return err
	}
	if len(uids) == 1 && r.cuts.Again(uint32(uids[0])) {
		r.fail(uint32(uids[0]), &remote.CutError{UID: uint32(uids[0]), What: "its flags, date and headers", Err: err})
		return nil
	}
	for _, uid := range uids {
		if err := r.batch(ctx, []imap.UID{uid}); err != nil {
			return err
		}
	}
	return nil
}

// afterCut commits what the batch delivered before the cut (each delivery
// was confirmed, and the cut one was aborted before its end), fails the
// message if it cut the connection before, and delivers the rest of the
// batch.
func (r *run) afterCut(ctx context.Context, id uint64, b *batch, uids []imap.UID, cut *remote.CutError) error {
	if err := r.reconnect(ctx, cut); err != nil {
		return err
	}
	if err := r.cfg.Ledger.Commit(id, b.done); err != nil {
		return err
	}
	r.sum.Delivered += len(b.done)
	failed := r.cuts.Again(cut.UID)
	if failed {
		r.fail(cut.UID, cut)
	}
	if err := r.markSeen(); err != nil || b.stop != nil {
		return errors.Join(err, b.stop)
	}
	return r.batch(ctx, rest(uids, b.done, cut.UID, failed))
}

// rest is what the batch has left to deliver: the cut message too, unless
// it failed.
func rest(uids []imap.UID, done []ledger.Mapping, cut uint32, failed bool) []imap.UID {
	skip := map[uint32]bool{cut: failed}
	for _, d := range done {
		skip[d.RemoteUID] = true
	}
	var out []imap.UID
	for _, u := range uids {
		if !skip[uint32(u)] {
			out = append(out, u)
		}
	}
	return out
}

// reconnect replaces the IMAP connections and the delivery, and selects
// the remote INBOX again. A stall the watchdog broke is not a message at
// fault: the run ends as a timeout.
func (r *run) reconnect(ctx context.Context, cause error) error {
	if r.wd != nil && r.wd.Stop() {
		return cause
	}
	if !r.cuts.Reconnect() {
		return cause
	}
	r.cfg.Log.Warn("remote connection lost during a message; reconnecting", "err", cause)
	r.closeIMAP()
	r.remote, r.local = nil, nil
	if r.out != nil {
		r.out.close()
		r.out = nil
	}
	r.watch(ctx)
	uidvalidity := r.uidvalidity
	if err := r.session(ctx); err != nil {
		return err
	}
	if r.uidvalidity != uidvalidity {
		return errors.New("the remote INBOX's UIDVALIDITY changed during the run")
	}
	return nil
}
