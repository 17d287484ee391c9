package remote

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Meta is what a first pass learns of a message, without its body.
type Meta struct {
	UID    uint32
	Flags  []imap.Flag
	Date   time.Time // INTERNALDATE
	Size   int64     // RFC822.SIZE, as the server states it
	Header textproto.MIMEHeader
}

// FetchMeta fetches UID, FLAGS, INTERNALDATE, RFC822.SIZE and the header
// fields named of a set of messages; an answer without a UID is left out.
// The engines fetch bodies in a second pass: go-imap writes the items of a
// request in random order and servers answer in their own, so a body could
// arrive before the flags, dates or headers that must be known first.
func FetchMeta(c *imapclient.Client, set imap.NumSet, fields ...string) ([]Meta, error) {
	cmd := c.Fetch(set, &imap.FetchOptions{
		UID: true, Flags: true, InternalDate: true, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierHeader, HeaderFields: fields, Peek: true}},
	})
	var out []Meta
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		if m := readMeta(msg); m.UID != 0 {
			out = append(out, m)
		}
	}
	if err := cmd.Close(); err != nil {
		return nil, fmt.Errorf("fetch flags, dates and headers: %w", err)
	}
	return out, nil
}

func readMeta(msg *imapclient.FetchMessageData) Meta {
	var m Meta
	for it := msg.Next(); it != nil; it = msg.Next() {
		switch it := it.(type) {
		case imapclient.FetchItemDataUID:
			m.UID = uint32(it.UID)
		case imapclient.FetchItemDataFlags:
			m.Flags = it.Flags
		case imapclient.FetchItemDataInternalDate:
			m.Date = it.Time
		case imapclient.FetchItemDataRFC822Size:
			m.Size = it.Size
		case imapclient.FetchItemDataBodySection:
			m.Header = ReadHeader(it.Literal)
		}
	}
	return m
}

// ReadHeader parses a header literal of at most 64 KiB; nil when it cannot.
func ReadHeader(r imap.LiteralReader) textproto.MIMEHeader {
	if r == nil {
		return nil
	}
	h, err := textproto.NewReader(bufio.NewReader(io.LimitReader(r, 64<<10))).ReadMIMEHeader()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil
	}
	return h
}

// Without returns the UIDs of all that are not in done, such as the
// ledger's list of messages copied already; both are sorted.
func Without(all []imap.UID, done []uint32) []imap.UID {
	var out []imap.UID
	j := 0
	for _, u := range all {
		for j < len(done) && done[j] < uint32(u) {
			j++
		}
		if j < len(done) && done[j] == uint32(u) {
			continue
		}
		out = append(out, u)
	}
	return out
}
