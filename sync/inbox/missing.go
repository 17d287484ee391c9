package inbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"

	"github.com/mailpull/mailpull/sync/remote"
)

// metas fetches the metadata of a batch, then asks again, one by one and
// by sequence number, for the messages the answer left out: a server may
// omit some, or put their UID after the header literal, where go-imap
// cannot place the answer. A message still missing fails, so that the run
// says so instead of leaving it silently for a later run; one the folder
// no longer holds is simply gone.
func (r *run) metas(uids []imap.UID) ([]meta, error) {
	metas, err := fetchMeta(r.remote, uids)
	if err != nil {
		return nil, err
	}
	r.touch()
	got := make(map[uint32]bool, len(metas))
	for _, m := range metas {
		got[m.uid] = true
	}
	for _, uid := range uids {
		if got[uint32(uid)] {
			continue
		}
		m, ok, err := r.metaAlone(uint32(uid))
		if err != nil {
			return nil, err
		}
		if ok {
			metas = append(metas, m)
		}
	}
	return metas, nil
}

func (r *run) metaAlone(uid uint32) (meta, bool, error) {
	seq, ok, err := remote.SeqOf(r.remote, uid)
	if err != nil || !ok {
		return meta{}, false, err
	}
	list, err := fetchMetaSet(r.remote, imap.SeqSetNum(seq))
	if err != nil {
		return meta{}, false, err
	}
	for _, m := range list {
		if m.uid == uid {
			return m, true, nil
		}
	}
	r.fail(uid, errors.New("the remote server did not send the message's flags, date and headers"))
	return meta{}, false, nil
}

// fetchAlone asks for one message left out of a batch's answer, by its
// sequence number (see remote.SeqOf); it fails the message if the server
// still does not send it, and passes over it if it is gone.
func (b *batch) fetchAlone(ctx context.Context, uid uint32) error {
	seq, ok, err := remote.SeqOf(b.remote, uid)
	if err != nil || !ok {
		return err
	}
	cmd := b.remote.Fetch(imap.SeqSetNum(seq), &imap.FetchOptions{UID: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		b.touch()
		if err := b.message(ctx, msg, uid); err != nil {
			cmd.Close()
			return err
		}
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("fetch from remote %s: %w", Folder, err)
	}
	if !b.seen[uid] {
		b.fail(uid, errors.New("the remote server did not send the message"))
	}
	return nil
}
