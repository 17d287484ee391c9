package mirror

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/sync/remote"
)

// copyInOrder copies the batch in UID order, so that the local folder
// keeps the remote order: runs of ordinary messages stream in one FETCH
// each, and a message from SpoolAbove on goes through a spool file between
// them.
func (b *batcher) copyInOrder(want map[uint32]meta) (map[uint32]uint32, error) {
	uids := uidsOf(want)
	slices.Sort(uids)
	got := map[uint32]uint32{}
	var run []imap.UID
	flush := func() error {
		part, err := b.fetchAppend(want, run)
		maps.Copy(got, part)
		run = run[:0]
		return err
	}
	for _, uid := range uids {
		m := want[uint32(uid)]
		if m.size < b.cfg.SpoolAbove {
			run = append(run, uid)
			continue
		}
		if err := flush(); err != nil {
			return nil, err
		}
		local, err := b.spool(m)
		if err != nil {
			return nil, err
		}
		if local != 0 {
			got[m.uid] = local
		}
	}
	return got, flush()
}

// spool fetches a message in ranges (BODY.PEEK[]<offset.size>, RFC 3501
// §6.4.5) into a temporary file, then appends the file. Its size is what
// the ranges returned, not RFC822.SIZE, which servers may state wrongly.
func (b *batcher) spool(m meta) (uint32, error) {
	f, err := os.CreateTemp("", "mailpull-spool-*")
	if err != nil {
		return 0, fmt.Errorf("spool: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	size, err := b.fetchRanges(m.uid, f)
	if err != nil || size == 0 {
		return 0, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("spool: %w", err)
	}
	cmd, err := b.append(m, io.LimitReader(f, size), size)
	if err != nil || cmd == nil {
		return 0, err
	}
	got, err := b.wait([]appended{{m.uid, cmd}})
	return got[m.uid], err
}

// fetchRanges appends the message to w range by range, until a range comes
// back short.
func (b *batcher) fetchRanges(uid uint32, w io.Writer) (int64, error) {
	var total int64
	for {
		n, err := b.fetchRange(uid, total, w)
		if err != nil {
			return 0, err
		}
		total += n
		if n < b.cfg.SpoolChunk {
			return total, nil
		}
	}
}

func (b *batcher) fetchRange(uid uint32, offset int64, w io.Writer) (int64, error) {
	part := &imap.FetchItemBodySection{Peek: true, Partial: &imap.SectionPartial{Offset: offset, Size: b.cfg.SpoolChunk}}
	cmd := b.p.remote.Fetch(imap.UIDSetNum(imap.UID(uid)), &imap.FetchOptions{UID: true,
		BodySection: []*imap.FetchItemBodySection{part}})
	var n int64
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		c, err := copyRange(msg, uid, offset, w)
		n += c
		if err != nil {
			cmd.Close()
			return 0, fmt.Errorf("spool UID %d: %w", uid, err)
		}
	}
	if err := cmd.Close(); err != nil {
		return 0, fmt.Errorf("fetch a range of UID %d: %w", uid, err)
	}
	return n, nil
}

// copyRange writes the range of one FETCH answer, if it is the message
// asked for: the UID must come before the body, as in the normal path.
func copyRange(msg *imapclient.FetchMessageData, uid uint32, offset int64, w io.Writer) (int64, error) {
	var got uint32
	for it := msg.Next(); it != nil; it = msg.Next() {
		switch it := it.(type) {
		case imapclient.FetchItemDataUID:
			got = uint32(it.UID)
		case imapclient.FetchItemDataBodySection:
			if got == uid && it.Literal != nil {
				cr := &remote.CutReader{R: it.Literal}
				n, err := io.Copy(w, cr)
				if cr.Cut(it.Literal.Size()) {
					err = &remote.CutError{UID: uid, What: fmt.Sprintf("the range from byte %d of the message", offset), Err: cr.Err}
				}
				return n, err
			}
		}
	}
	return 0, nil
}
