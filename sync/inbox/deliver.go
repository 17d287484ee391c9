package inbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/sync/ledger"
	"github.com/mailpull/mailpull/sync/remote"
)

// deliverer puts one message into the local account: head (the headers
// mailpull adds) and then body, size bytes. A *refusal means the server
// refused this message and the connection is fine; any other error means
// the connection is in an unknown state.
type deliverer interface {
	deliver(m meta, head []byte, body io.Reader, size int64) error
	close()
}

// refusal is a message the local server turned down.
type refusal struct {
	temporary bool  // 4xx: try again next run
	account   error // ErrUnknownUser or ErrQuota: no message can be delivered
	err       error
}

func (e *refusal) Error() string {
	if e.account != nil {
		return fmt.Sprintf("%v: %v", e.account, e.err)
	}
	return e.err.Error()
}

func (e *refusal) Unwrap() []error {
	if e.account == nil {
		return []error{e.err}
	}
	return []error{e.account, e.err}
}

// batch delivers uids under one intent. The intent is committed with what
// was delivered unless the connection broke mid-message: then whether that
// message arrived is unknown, and the intent stays open for the next run
// to settle by searching the local account.
func (r *run) batch(ctx context.Context, uids []imap.UID) error {
	if len(uids) == 0 {
		return nil
	}
	metas, err := r.metas(uids)
	if err != nil {
		return r.metaCut(ctx, uids, err)
	}
	if len(metas) == 0 {
		return nil // expunged meanwhile, or left out and failed
	}
	id, err := r.cfg.Ledger.Begin(r.intent(metas))
	if err != nil {
		return err
	}
	b := &batch{run: r, want: make(map[uint32]meta, len(metas))}
	for _, m := range metas {
		b.want[m.uid] = m
	}
	var cut *remote.CutError
	if err := b.stream(ctx); errors.As(err, &cut) {
		return r.afterCut(ctx, id, b, uids, cut)
	} else if err != nil {
		return err
	}
	if err := r.cfg.Ledger.Commit(id, b.done); err != nil {
		return err
	}
	r.sum.Delivered += len(b.done)
	if err := r.markSeen(); err != nil {
		return err
	}
	return b.stop
}

func (r *run) intent(metas []meta) ledger.Intent {
	in := ledger.Intent{Folder: Folder, UIDValidity: r.uidvalidity}
	for _, m := range metas {
		in.Messages = append(in.Messages, ledger.IntentMessage{UID: m.uid, Size: m.size, Date: m.date,
			MessageID: m.messageID, Origin: Origin(r.cfg.Task.ID, r.uidvalidity, m.uid)})
	}
	return in
}

// batch is one batch's deliveries.
type batch struct {
	*run
	want map[uint32]meta
	seen map[uint32]bool // answered by the server, delivered or not
	done []ledger.Mapping
	stop error // an account-wide refusal: deliver nothing more
	sent *meta // the message whose outcome is pending (see settle)
}

// stream fetches the bodies and delivers each as it arrives, then asks
// again, one by one, for those the server left out of its answer: a FETCH
// answer may omit a message, or carry its UID after the body, where go-imap
// cannot place it. Whatever ended it, the outcome of the last message sent
// is read before it returns, so that a batch cut short by the remote
// commits every delivery that was confirmed.
func (b *batch) stream(ctx context.Context) error {
	b.seen = map[uint32]bool{}
	err := b.fetch(ctx, uidsOf(b.want))
	for _, uid := range uidsOf(b.want) {
		if err != nil {
			break
		}
		if b.seen[uint32(uid)] || b.stop != nil {
			continue
		}
		err = b.fetchAlone(ctx, uint32(uid))
	}
	if serr := b.settle(); serr != nil {
		return serr
	}
	return err
}

func uidsOf(want map[uint32]meta) []imap.UID {
	out := make([]imap.UID, 0, len(want))
	for uid := range want {
		out = append(out, imap.UID(uid))
	}
	return out
}

func (b *batch) fetch(ctx context.Context, uids []imap.UID) error {
	cmd := b.remote.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		b.touch()
		if err := b.message(ctx, msg, 0); err != nil {
			cmd.Close()
			return err
		}
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("fetch from remote %s: %w", Folder, err)
	}
	return nil
}

// message reads one FETCH answer, its UID first and then its body, which
// streams into the delivery. After an account-wide refusal the remaining
// bodies are left for go-imap to read past. alone is the UID of a message
// fetched by its sequence number, whose UID may come after the body.
func (b *batch) message(ctx context.Context, msg *imapclient.FetchMessageData, alone uint32) error {
	uid := alone
	for it := msg.Next(); it != nil; it = msg.Next() {
		switch it := it.(type) {
		case imapclient.FetchItemDataUID:
			uid = uint32(it.UID)
		case imapclient.FetchItemDataBodySection:
			m, ok := b.want[uid]
			if !ok || it.Literal == nil || b.seen[uid] || b.stop != nil {
				continue
			}
			b.seen[uid] = true
			return b.deliver(ctx, m, it.Literal)
		}
	}
	return nil
}

// readAhead is the largest message read whole from the remote before it
// is sent: while the local server runs Sieve on and stores one message, the
// run reads the next. Larger ones stream from the remote to the local
// server, as they come, once the message before is settled.
const readAhead = 4 << 20

// sender is a deliverer that can leave a message's outcome pending: send
// gives it the whole message, wait reads the outcome.
type sender interface {
	send(m meta, head []byte, body io.Reader, size int64) error
	wait() error
}

// deliver puts one message into the local account and records the
// outcome: delivered, deferred (4xx), failed, or the end of the run. Over
// LMTP a message of up to readAhead bytes is read whole first, then the
// outcome of the one sent before it is read, then it is sent, its outcome
// left for the next message or the end of the batch (settle).
func (b *batch) deliver(ctx context.Context, m meta, body imap.LiteralReader) error {
	out, err := b.deliverer(ctx)
	if err != nil {
		return err
	}
	cr := &remote.CutReader{R: touchReader{body, b.touch}}
	size := body.Size()
	if s, ok := out.(sender); ok && size <= readAhead {
		if cap(b.buf) < int(size) {
			b.buf = make([]byte, size)
		}
		buf := b.buf[:size]
		_, rerr := io.ReadFull(cr, buf)
		if err := b.settle(); err != nil {
			return err
		}
		if rerr != nil {
			return cutOr(cr, m.uid, size, fmt.Errorf("deliver UID %d: %w", m.uid, rerr))
		}
		if b.stop != nil {
			return nil
		}
		if err := s.send(m, b.head(m.uid), bytes.NewReader(buf), size); err != nil {
			return b.outcome(m, err, nil, size)
		}
		b.sent = &m
		return nil
	}
	if err := b.settle(); err != nil || b.stop != nil {
		return err
	}
	return b.outcome(m, out.deliver(m, b.head(m.uid), cr, size), cr, size)
}

// settle reads the outcome of the message sent last, if it is pending.
func (b *batch) settle() error {
	if b.sent == nil {
		return nil
	}
	m := *b.sent
	b.sent = nil
	return b.outcome(m, b.out.(sender).wait(), nil, 0)
}

// outcome records what became of message m. An error that is not the
// server's refusal leaves the connection, and whether the message arrived,
// in doubt: the run ends there, its intent open. cr, if the body was
// streaming (size bytes), tells a cut by the remote from a local failure.
func (b *batch) outcome(m meta, err error, cr *remote.CutReader, size int64) error {
	var ref *refusal
	switch {
	case err == nil:
		b.done = append(b.done, ledger.Mapping{RemoteUID: m.uid})
		if b.cfg.Progress != nil {
			b.cfg.Progress(b.sum.Delivered+len(b.done), b.total)
		}
	case !errors.As(err, &ref):
		err = fmt.Errorf("deliver UID %d: %w", m.uid, err)
		if cr != nil {
			return cutOr(cr, m.uid, size, err)
		}
		return err
	case ref.account != nil:
		b.stop = fmt.Errorf("deliver to %s: %w", b.recipient(), err)
	case ref.temporary:
		b.cfg.Log.Warn("delivery deferred, left for the next run", "uid", m.uid, "err", err)
		b.sum.Deferred++
	default:
		b.fail(m.uid, err)
	}
	return nil
}

// head is the header fields added in front of the message: the remote
// address for Sieve vacation (Dovecot's lda_original_recipient_header), and
// the origin that finds the copy again after a crash.
func (r *run) head(uid uint32) []byte {
	var h []byte
	if r.cfg.OriginalTo != "" {
		h = fmt.Appendf(h, "X-Original-To: %s\r\n", r.cfg.OriginalTo)
	}
	return fmt.Appendf(h, "%s: %s\r\n", OriginHeader, Origin(r.cfg.Task.ID, r.uidvalidity, uid))
}

func (r *run) recipient() string {
	if r.cfg.LMTP == nil {
		return r.cfg.Task.LocalUser + "'s INBOX"
	}
	return r.cfg.Recipient
}

// deliverer opens the delivery on first use: LMTP, one connection for the
// whole run, or APPEND through the master login.
func (r *run) deliverer(ctx context.Context) (deliverer, error) {
	if r.out != nil {
		return r.out, nil
	}
	if r.cfg.LMTP != nil {
		l, err := dialLMTP(ctx, r.cfg.LMTP, r.cfg.Recipient)
		if err != nil {
			return nil, err
		}
		r.out = l
		return l, nil
	}
	c, err := r.localClient(ctx)
	if err != nil {
		return nil, err
	}
	r.out = &appender{c: c}
	return r.out, nil
}
