//go:build bench

package bench

import (
	"bytes"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// stored is what the verification reads of one message: enough to tell the
// corpus's messages apart and to see what a tool changed, without the
// bodies (10,000 of them would not fit the point of the exercise).
type stored struct {
	MessageID string
	Flags     string // sorted, space-separated, without \Recent
	Date      time.Time
	Size      int64
}

// account is an account's messages by folder path, components joined by
// "/" whatever the server's separator.
type account map[string][]stored

// expected is the account the corpus describes.
func (c *corpus) expected() account {
	want := account{}
	for _, f := range folders {
		want[strings.Join(f.path, "/")] = nil
	}
	for _, m := range c.Msgs {
		key := strings.Join(folders[m.Folder].path, "/")
		flags := append(slices.Clone(m.Flags), m.Keywords...)
		want[key] = append(want[key], stored{m.MessageID, normFlags(flags), m.Date, m.Size})
	}
	return want
}

func normFlags(flags []string) string {
	var out []string
	for _, f := range flags {
		if !strings.EqualFold(f, `\Recent`) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// readAccount reads every selectable folder of a logged-in client.
func readAccount(c *imapclient.Client) (account, error) {
	boxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	got := account{}
	for _, b := range boxes {
		if slices.Contains(b.Attrs, imap.MailboxAttrNoSelect) || slices.Contains(b.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		msgs, err := readFolder(c, b.Mailbox)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Mailbox, err)
		}
		key := b.Mailbox
		if b.Delim != 0 {
			key = strings.ReplaceAll(key, string(b.Delim), "/")
		}
		got[key] = msgs
	}
	return got, nil
}

var midSection = &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Message-ID"}, Peek: true}

func readFolder(c *imapclient.Client, name string) ([]stored, error) {
	sel, err := c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil || sel.NumMessages == 0 {
		return nil, err
	}
	msgs, err := c.Fetch(seqAll(), &imap.FetchOptions{
		Flags: true, InternalDate: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{midSection},
	}).Collect()
	if err != nil {
		return nil, err
	}
	out := make([]stored, 0, len(msgs))
	for _, m := range msgs {
		flags := make([]string, len(m.Flags))
		for i, f := range m.Flags {
			flags[i] = string(f)
		}
		out = append(out, stored{messageID(m.FindBodySection(midSection)), normFlags(flags), m.InternalDate, m.RFC822Size})
	}
	return out, nil
}

func seqAll() imap.SeqSet {
	var s imap.SeqSet
	s.AddRange(1, 0)
	return s
}

func messageID(header []byte) string {
	msg, err := mail.ReadMessage(bytes.NewReader(append(bytes.TrimRight(header, "\r\n"), "\r\n\r\n"...)))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(msg.Header.Get("Message-Id"))
}

// check is how an account compares with the corpus. Err means the copy is
// wrong (a message missing, duplicated or extra) and the run gets no
// figure; the counts of changed flags, dates and sizes are reported only,
// because tools differ there by design (mbsync adds a header, drops
// keywords).
type check struct {
	Err                         error
	Messages                    int
	FlagDiffs, DateDiffs, Sizes int
}

func compare(want, got account) check {
	var ck check
	var errs []error
	for folder, msgs := range want {
		errs = append(errs, ck.folder(folder, msgs, got[folder]))
	}
	for folder, msgs := range got {
		if _, ok := want[folder]; !ok && len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("%s: %d messages in a folder the corpus lacks", folder, len(msgs)))
		}
	}
	ck.Err = errors.Join(errs...)
	return ck
}

// folder compares one folder by Message-ID, which is unique in the corpus.
func (ck *check) folder(name string, want, got []stored) error {
	byID := make(map[string]stored, len(got))
	for _, g := range got {
		if _, dup := byID[g.MessageID]; dup {
			return fmt.Errorf("%s: %s is there twice", name, g.MessageID)
		}
		byID[g.MessageID] = g
	}
	for _, w := range want {
		g, ok := byID[w.MessageID]
		if !ok {
			return fmt.Errorf("%s: %d messages, want %d; %s is missing", name, len(got), len(want), w.MessageID)
		}
		ck.Messages++
		ck.FlagDiffs += b2i(g.Flags != w.Flags)
		ck.DateDiffs += b2i(!g.Date.Equal(w.Date))
		ck.Sizes += b2i(g.Size != w.Size)
	}
	if len(got) != len(want) {
		return fmt.Errorf("%s: %d messages, want %d", name, len(got), len(want))
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// String is the verification column of the table.
func (ck check) String() string {
	if ck.Err != nil {
		return "FAILED"
	}
	s := "ok"
	if ck.FlagDiffs+ck.DateDiffs+ck.Sizes > 0 {
		s += fmt.Sprintf(" (changed: flags %d, dates %d, sizes %d)", ck.FlagDiffs, ck.DateDiffs, ck.Sizes)
	}
	return s
}
