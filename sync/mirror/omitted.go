package mirror

import (
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/sync/remote"
)

// Why this file: a server may leave a requested message out of a UID FETCH
// answer, or put its UID after a literal, which go-imap cannot place and
// drops without an error. Such a message must fail, never pass in silence:
// a folder without failures is recorded as complete, and an unchanged
// folder is not looked at again. A message asked for alone is fetched by
// its sequence number (see remote.SeqOf), which go-imap places whatever
// the order of the items; one the folder no longer holds is gone, not
// failed.

// metas fetches a batch's metadata, then each message left out alone; it
// returns how many messages failed.
func (b *batcher) metas(uids []imap.UID) ([]meta, int, error) {
	metas, err := fetchMeta(b.p.remote, imap.UIDSetNum(uids...))
	if err != nil {
		return nil, 0, err
	}
	b.p.touch()
	got := make(map[uint32]bool, len(metas))
	for _, m := range metas {
		got[m.uid] = true
	}
	failed := 0
	for _, uid := range uids {
		if got[uint32(uid)] {
			continue
		}
		m, ok, err := b.metaAlone(uint32(uid))
		switch {
		case err != nil:
			return nil, 0, err
		case ok:
			metas = append(metas, m)
		case m.uid != 0:
			failed++
		}
	}
	return metas, failed, nil
}

// metaAlone returns the metadata of one message; ok false and a zero meta
// when it is gone, ok false and its UID when the server still left it out
// (then it failed).
func (b *batcher) metaAlone(uid uint32) (meta, bool, error) {
	seq, ok, err := remote.SeqOf(b.p.remote, uid)
	if err != nil || !ok {
		return meta{}, false, err
	}
	list, err := fetchMeta(b.p.remote, imap.SeqSetNum(seq))
	if err != nil {
		return meta{}, false, err
	}
	for _, m := range list {
		if m.uid == uid {
			return m, true, nil
		}
	}
	b.fail(b.m.Remote.Name, uid, errors.New("the server did not send the message's flags, date and headers"))
	return meta{uid: uid}, false, nil
}

// copyAlone copies one message left out of a batch's answer. ok is false
// when it failed (recorded) or is gone.
func (b *batcher) copyAlone(m meta) (local uint32, ok bool, err error) {
	seq, found, err := remote.SeqOf(b.p.remote, m.uid)
	if err != nil || !found {
		b.cfg.Log.Info("message gone before its copy", "folder", b.m.Remote.Name, "uid", m.uid)
		return 0, false, err
	}
	cmd := b.p.remote.Fetch(imap.SeqSetNum(seq), &imap.FetchOptions{UID: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	var inflight []appended
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		a, err := b.appendAlone(msg, m)
		if err != nil {
			cmd.Close()
			return 0, false, err
		}
		if a.cmd != nil {
			inflight = append(inflight, a)
		}
	}
	if err := cmd.Close(); err != nil {
		return 0, false, fmt.Errorf("fetch: %w", err)
	}
	got, err := b.wait(inflight)
	if err != nil || len(inflight) == 0 {
		if err == nil {
			b.fail(b.m.Remote.Name, m.uid, errors.New("the server did not send the message"))
		}
		return 0, false, err
	}
	local, ok = got[m.uid]
	return local, ok, nil
}

// appendAlone appends the body of the answer to a FETCH by sequence number:
// it is m whether its UID comes before the body, after it, or not at all.
func (b *batcher) appendAlone(msg *imapclient.FetchMessageData, m meta) (appended, error) {
	for it := msg.Next(); it != nil; it = msg.Next() {
		switch it := it.(type) {
		case imapclient.FetchItemDataUID:
			if uint32(it.UID) != m.uid {
				return appended{}, nil // not the message asked for: read past
			}
		case imapclient.FetchItemDataBodySection:
			if it.Literal == nil {
				continue
			}
			cmd, err := b.append(m, it.Literal, it.Literal.Size())
			return appended{m.uid, cmd}, err
		}
	}
	return appended{}, nil
}
