package inbox

import (
	"errors"
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// appender delivers with Sieve off: APPEND into the local INBOX through the
// master login, as mirror mode copies.
type appender struct{ c *imapclient.Client }

func (a *appender) close() {}

// deliver appends head and body as one literal of exactly their size. The
// copy keeps the remote internal date and flags, less \Seen (it arrives as
// new mail, as a delivery would), \Deleted and \Recent.
func (a *appender) deliver(m meta, head []byte, body io.Reader, size int64) error {
	cmd := a.c.Append(Folder, int64(len(head))+size, &imap.AppendOptions{Flags: arrival(m.flags), Time: m.date})
	_, err := cmd.Write(head)
	if err == nil {
		_, err = io.Copy(cmd, body)
	}
	if cerr := cmd.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		_, err = cmd.Wait()
	}
	var ie *imap.Error
	if !errors.As(err, &ie) {
		return err
	}
	ref := &refusal{err: err}
	switch ie.Code {
	case imap.ResponseCodeOverQuota:
		ref.account = ErrQuota
	case imap.ResponseCodeUnavailable, imap.ResponseCodeInUse:
		ref.temporary = true
	}
	return ref
}

func arrival(flags []imap.Flag) []imap.Flag {
	var out []imap.Flag
	for _, f := range flags {
		switch strings.ToLower(string(f)) {
		case `\seen`, `\deleted`, `\recent`:
			continue
		}
		out = append(out, f)
	}
	return out
}
