package inbox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// meta is what the first pass learns of a message: what the intent records
// and what the delivery needs before the body (the envelope sender).
type meta struct {
	uid        uint32
	flags      []imap.Flag
	date       time.Time
	size       int64
	messageID  string
	returnPath string // the address inside Return-Path's <>, "" for <> or none
}

var headerSection = &imap.FetchItemBodySection{
	Specifier:    imap.PartSpecifierHeader,
	HeaderFields: []string{"Message-ID", "Return-Path"},
	Peek:         true,
}

// fetchMeta fetches UID, FLAGS, INTERNALDATE, RFC822.SIZE and two header
// fields of a set. Bodies come in a second pass, since the envelope sender
// must be known before the body streams (and the order of the items in a
// FETCH answer is the server's).
func fetchMeta(c *imapclient.Client, uids []imap.UID) ([]meta, error) {
	cmd := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{
		UID: true, Flags: true, InternalDate: true, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{headerSection},
	})
	var out []meta
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		if m, ok := readMeta(msg); ok {
			out = append(out, m)
		}
	}
	if err := cmd.Close(); err != nil {
		return nil, fmt.Errorf("fetch flags and headers: %w", err)
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
			m.flags = it.Flags
		case imapclient.FetchItemDataInternalDate:
			m.date = it.Time
		case imapclient.FetchItemDataRFC822Size:
			m.size = it.Size
		case imapclient.FetchItemDataBodySection:
			h := readHeader(it.Literal)
			m.messageID = strings.TrimSpace(h.Get("Message-Id"))
			m.returnPath = envelopeSender(h.Get("Return-Path"))
		}
	}
	return m, m.uid != 0
}

func readHeader(r imap.LiteralReader) textproto.MIMEHeader {
	if r == nil {
		return nil
	}
	h, err := textproto.NewReader(bufio.NewReader(io.LimitReader(r, 64<<10))).ReadMIMEHeader()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil
	}
	return h
}

// envelopeSender takes the address out of a Return-Path field (RFC 5321
// §4.4: "Return-Path: <reverse-path>"). Anything that cannot go into MAIL
// FROM as it is gives "", the null sender.
func envelopeSender(field string) string {
	v := strings.TrimSpace(field)
	if !strings.HasPrefix(v, "<") || !strings.HasSuffix(v, ">") {
		return ""
	}
	addr := strings.TrimSpace(v[1 : len(v)-1])
	if strings.ContainsAny(addr, "<>\r\n\x00") {
		return ""
	}
	return addr
}
