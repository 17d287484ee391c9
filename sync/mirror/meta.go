package mirror

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// meta is what the first pass learns of a message: what APPEND needs, and
// what recognises the copy after a crash.
type meta struct {
	uid       uint32
	flags     []imap.Flag
	date      time.Time
	size      int64
	messageID string
}

var messageIDSection = &imap.FetchItemBodySection{
	Specifier:    imap.PartSpecifierHeader,
	HeaderFields: []string{"Message-ID"},
	Peek:         true,
}

// fetchMeta fetches UID, FLAGS, INTERNALDATE, RFC822.SIZE and the Message-ID
// header of a set. Bodies come in a second pass: go-imap writes the items of
// a request in random order and servers answer in their own, so a body may
// arrive before the flags APPEND needs.
func fetchMeta(c *imapclient.Client, set imap.UIDSet) ([]meta, error) {
	cmd := c.Fetch(set, &imap.FetchOptions{
		UID: true, Flags: true, InternalDate: true, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{messageIDSection},
	})
	var out []meta
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		if m, ok := readMeta(msg); ok {
			out = append(out, m)
		}
	}
	if err := cmd.Close(); err != nil {
		return nil, fmt.Errorf("fetch flags and dates: %w", err)
	}
	return out, nil
}

func readMeta(msg *imapclient.FetchMessageData) (meta, bool) {
	var m meta
	for it := msg.Next(); it != nil; it = msg.Next() {
		switch it := it.(type) {
		case imapclient.FetchItemDataUID:
			m.uid = uint32(it.UID)
		case imapclient.FetchItemDataFlags:
			m.flags = appendable(it.Flags)
		case imapclient.FetchItemDataInternalDate:
			m.date = it.Time
		case imapclient.FetchItemDataRFC822Size:
			m.size = it.Size
		case imapclient.FetchItemDataBodySection:
			m.messageID = readMessageID(it.Literal)
		}
	}
	return m, m.uid != 0
}

// appendable drops \Recent, which a client may not set (RFC 3501 §6.3.11).
func appendable(flags []imap.Flag) []imap.Flag {
	out := flags[:0:0]
	for _, f := range flags {
		if !strings.EqualFold(string(f), `\Recent`) {
			out = append(out, f)
		}
	}
	return out
}

func readMessageID(r imap.LiteralReader) string {
	if r == nil {
		return ""
	}
	b, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return ""
	}
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(b))).ReadMIMEHeader()
	if err != nil && !errors.Is(err, io.EOF) {
		return ""
	}
	return strings.TrimSpace(h.Get("Message-Id"))
}

func isNonexistent(err error) bool {
	var ie *imap.Error
	return errors.As(err, &ie) && ie.Code == imap.ResponseCodeNonExistent
}
