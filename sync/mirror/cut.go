package mirror

import (
	"errors"
	"fmt"
	"io"

	"github.com/emersion/go-imap/v2"

	"github.com/mailpull/mailpull/sync/ledger"
)

// Why a run reconnects after a message breaks the remote connection: a
// server may be unable to serve one message, and close the connection each
// time it is asked for it (Dovecot does so when a maildir file is shorter
// than the size its name states, for its headers and for its body). Ending
// the run there would end every later run at the same message, and nothing
// after it would ever be copied. The run instead reconnects and asks for
// that message once more, since the link may be at fault rather than the
// message; when it cuts the connection again, it fails alone and the rest is
// copied. maxCuts bounds the reconnections of a folder, so that a link that
// keeps dropping still ends the run.
const maxCuts = 8

// cutError is a remote connection that closed while it sent one message.
type cutError struct {
	uid  uint32
	what string
	err  error
}

func (e *cutError) Error() string {
	if e.err == nil { // the literal ended early, without an error
		return "the remote server closed the connection while sending " + e.what
	}
	return fmt.Sprintf("the remote server closed the connection while sending %s: %v", e.what, e.err)
}

func (e *cutError) Unwrap() error { return e.err }

// cutReader keeps the error of a body's read, which tells a remote cut from
// a local failure while the body streams into an APPEND.
type cutReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *cutReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// bodyCut is the error of an APPEND whose body the remote cut off.
func bodyCut(uid uint32, r *cutReader, size int64) error {
	return &cutError{uid: uid, err: r.err,
		what: fmt.Sprintf("the message (%d of the %d bytes it announced)", r.n, size)}
}

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
	if len(uids) == 1 && b.cutBefore(uint32(uids[0])) {
		b.fail(b.m.Remote.Name, uint32(uids[0]), &cutError{uid: uint32(uids[0]), what: "its flags, date and headers", err: err})
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
func (b *batcher) afterCut(in ledger.Intent, uids []imap.UID, cut *cutError) (int, error) {
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
	if b.cutBefore(cut.uid) {
		b.fail(b.m.Remote.Name, cut.uid, cut)
		done[cut.uid], failed = true, 1
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

// cutBefore reports whether the message had already cut the connection in
// this run, and notes that it has now.
func (b *batcher) cutBefore(uid uint32) bool {
	if b.cutUIDs == nil {
		b.cutUIDs = map[uint32]bool{}
	}
	before := b.cutUIDs[uid]
	b.cutUIDs[uid] = true
	return before
}

// reconnect replaces the worker's connections and selects the folder
// again on both sides.
// A server that stalled is not a message at fault: when the watchdog closed
// the connections, the run ends as a timeout.
func (b *batcher) reconnect(cause error) error {
	if b.p.wd != nil && b.p.wd.Stop() {
		return cause
	}
	if b.cuts++; b.cuts > maxCuts {
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
