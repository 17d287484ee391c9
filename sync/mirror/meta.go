package mirror

import (
	"errors"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/sync/remote"
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

// fetchMeta fetches what APPEND and a later recognition need, for a set.
func fetchMeta(c *imapclient.Client, set imap.NumSet) ([]meta, error) {
	list, err := remote.FetchMeta(c, set, "Message-ID")
	if err != nil {
		return nil, err
	}
	out := make([]meta, len(list))
	for i, m := range list {
		out[i] = meta{uid: m.UID, flags: appendable(m.Flags), date: m.Date, size: m.Size,
			messageID: strings.TrimSpace(m.Header.Get("Message-Id"))}
	}
	return out, nil
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

func isNonexistent(err error) bool {
	var ie *imap.Error
	return errors.As(err, &ie) && ie.Code == imap.ResponseCodeNonExistent
}
