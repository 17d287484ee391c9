package inbox

import (
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/sync/remote"
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

// fetchMeta fetches what the intent records and the delivery needs before
// the body (the envelope sender), for a set of UIDs.
func fetchMeta(c *imapclient.Client, uids []imap.UID) ([]meta, error) {
	return fetchMetaSet(c, imap.UIDSetNum(uids...))
}

// fetchMetaSet is fetchMeta for a set of UIDs or of sequence numbers.
func fetchMetaSet(c *imapclient.Client, set imap.NumSet) ([]meta, error) {
	list, err := remote.FetchMeta(c, set, "Message-ID", "Return-Path")
	if err != nil {
		return nil, err
	}
	out := make([]meta, len(list))
	for i, m := range list {
		out[i] = meta{uid: m.UID, flags: m.Flags, date: m.Date, size: m.Size,
			messageID:  strings.TrimSpace(m.Header.Get("Message-Id")),
			returnPath: envelopeSender(m.Header.Get("Return-Path"))}
	}
	return out, nil
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
