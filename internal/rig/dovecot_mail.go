package rig

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Message is one stored message as IMAP shows it.
type Message struct {
	// Flags holds system flags and keywords, sorted. The session flag
	// \Recent is never included: it is not stored and no copy preserves it.
	Flags []imap.Flag
	// Date is the INTERNALDATE (the server keeps whole seconds).
	Date time.Time
	// Body is the message exactly as stored, headers included.
	Body []byte
}

// ReadAll returns every message of every selectable folder that c (logged
// in) can see, folder by folder in UID order, without setting \Seen.
func ReadAll(t testing.TB, c *imapclient.Client) map[string][]Message {
	t.Helper()
	boxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatalf("rig: list: %v", err)
	}
	all := make(map[string][]Message)
	for _, box := range boxes {
		if slices.Contains(box.Attrs, imap.MailboxAttrNoSelect) ||
			slices.Contains(box.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		all[box.Mailbox] = readFolder(t, c, box.Mailbox)
	}
	return all
}

func readFolder(t testing.TB, c *imapclient.Client, folder string) []Message {
	t.Helper()
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatalf("rig: examine %s: %v", folder, err)
	}
	if sel.NumMessages == 0 {
		return []Message{}
	}
	bufs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, // 1:*
		&imap.FetchOptions{
			UID: true, Flags: true, InternalDate: true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}},
		}).Collect()
	if err != nil {
		t.Fatalf("rig: fetch %s: %v", folder, err)
	}
	slices.SortFunc(bufs, func(a, b *imapclient.FetchMessageBuffer) int { return int(a.UID) - int(b.UID) })
	msgs := make([]Message, 0, len(bufs))
	for _, b := range bufs {
		var body []byte
		if len(b.BodySection) > 0 {
			body = b.BodySection[0].Bytes
		}
		msgs = append(msgs, Message{Flags: storedFlags(b.Flags), Date: b.InternalDate, Body: body})
	}
	return msgs
}

// storedFlags drops \Recent and sorts, so that flag lists compare as sets.
func storedFlags(flags []imap.Flag) []imap.Flag {
	out := make([]imap.Flag, 0, len(flags))
	for _, f := range flags {
		if f != "\\Recent" {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// Append stores msgs in folder, creating the folder first if it is missing.
func Append(t testing.TB, c *imapclient.Client, folder string, msgs ...Message) {
	t.Helper()
	createFolder(t, c, folder)
	for i, m := range msgs {
		cmd := c.Append(folder, int64(len(m.Body)), &imap.AppendOptions{Flags: m.Flags, Time: m.Date})
		_, errWrite := cmd.Write(m.Body)
		errClose := cmd.Close()
		_, errWait := cmd.Wait()
		if err := errors.Join(errWrite, errClose, errWait); err != nil {
			t.Fatalf("rig: append message %d to %s: %v", i, folder, err)
		}
	}
}

func createFolder(t testing.TB, c *imapclient.Client, folder string) {
	t.Helper()
	if folder == "INBOX" {
		return
	}
	err := c.Create(folder, nil).Wait()
	var imapErr *imap.Error
	if errors.As(err, &imapErr) && imapErr.Code == imap.ResponseCodeAlreadyExists {
		return
	}
	if err != nil {
		t.Fatalf("rig: create %s: %v", folder, err)
	}
}

// EqualMessages reports whether two folders hold the same messages in the
// same order: same bytes, same flags, same internal date to the second.
func EqualMessages(a, b []Message) bool {
	return slices.EqualFunc(a, b, func(x, y Message) bool {
		return bytes.Equal(x.Body, y.Body) &&
			slices.Equal(storedFlags(x.Flags), storedFlags(y.Flags)) &&
			x.Date.Truncate(time.Second).Equal(y.Date.Truncate(time.Second))
	})
}
