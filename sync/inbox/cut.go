package inbox

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/emersion/go-imap/v2"

	"github.com/mailpull/mailpull/sync/ledger"
)

// Why a run reconnects after a message breaks the remote connection: a
// server may be unable to serve one message and close the connection each
// time it is asked for it (Dovecot does so when a maildir file is shorter
// than the size its name states). Ending the run there would end every
// later run at the same message, and no later mail would ever be
// delivered. The run instead reconnects and asks for that message once
// more, since the link may be at fault rather than the message; when it
// cuts the connection again, it fails alone (the next run tries it again)
// and the rest is delivered. maxCuts bounds the reconnections of a run, so
// that a link that keeps dropping still ends it.
const maxCuts = 8

// cutError is a remote connection that closed while it sent one message.
type cutError struct {
	uid  uint32
	what string
	err  error
}

func (e *cutError) Error() string {
	return fmt.Sprintf("the remote server closed the connection while sending %s: %v", e.what, e.err)
}

func (e *cutError) Unwrap() error { return e.err }

// cutReader counts a body's bytes and keeps its read error: a delivery that
// failed on a short or broken body is the remote's cut, not a local failure.
type cutReader struct {
	r   io.Reader
	n   int64
	eof bool
	err error
}

func (c *cutReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	switch {
	case err == io.EOF:
		c.eof = true
	case err != nil:
		c.err = err
	}
	return n, err
}

// cut tells whether a delivery that failed with err was cut off by the
// remote (a read error, or the literal's end before its size; not a write
// error that stopped the copy), and says so for the message.
func (c *cutReader) cut(uid uint32, size int64, err error) error {
	if c.err == nil && !(c.eof && c.n < size) {
		return err
	}
	return &cutError{uid: uid, err: err, what: fmt.Sprintf("the message (%d of the %d bytes it announced)", c.n, size)}
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
	if len(uids) == 1 && r.cutBefore(uint32(uids[0])) {
		r.fail(uint32(uids[0]), &cutError{uid: uint32(uids[0]), what: "its flags, date and headers", err: err})
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
func (r *run) afterCut(ctx context.Context, id uint64, b *batch, uids []imap.UID, cut *cutError) error {
	if err := r.reconnect(ctx, cut); err != nil {
		return err
	}
	if err := r.cfg.Ledger.Commit(id, b.done); err != nil {
		return err
	}
	r.sum.Delivered += len(b.done)
	failed := r.cutBefore(cut.uid)
	if failed {
		r.fail(cut.uid, cut)
	}
	if err := r.markSeen(); err != nil || b.stop != nil {
		return errors.Join(err, b.stop)
	}
	return r.batch(ctx, rest(uids, b.done, cut.uid, failed))
}

// cutBefore reports whether the message had already cut the connection in
// this run, and notes that it has now.
func (r *run) cutBefore(uid uint32) bool {
	if r.cutUIDs == nil {
		r.cutUIDs = map[uint32]bool{}
	}
	before := r.cutUIDs[uid]
	r.cutUIDs[uid] = true
	return before
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
	if r.cuts++; r.cuts > maxCuts {
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
