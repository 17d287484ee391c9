package folders

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Remote is one folder as the remote server lists it.
type Remote struct {
	// Name is the name go-imap decoded from the LIST reply; go-imap encodes
	// it back the same way, so the engine selects the folder by it.
	Name string
	// Delim is the hierarchy delimiter, 0 when the server sent NIL (a flat
	// namespace).
	Delim rune
	// Attrs holds \Noselect, \NonExistent and the RFC 6154 special-use
	// attributes, as go-imap canonicalised them.
	Attrs []imap.MailboxAttr
}

// Has reports whether the folder carries attribute a.
func (r Remote) Has(a imap.MailboxAttr) bool {
	for _, x := range r.Attrs {
		if strings.EqualFold(string(x), string(a)) {
			return true
		}
	}
	return false
}

// Selectable reports whether the folder can hold messages (RFC 3501 §7.2.2,
// RFC 5258 §3 for \NonExistent).
func (r Remote) Selectable() bool {
	return !r.Has(imap.MailboxAttrNoSelect) && !r.Has(imap.MailboxAttrNonExistent)
}

// Listing is what List found on the remote account.
type Listing struct {
	Folders []Remote
	// Undecodable holds the names, as the server sent them, that go-imap
	// could not decode; Guard kept them from killing the connection. They
	// cannot be selected through go-imap and are reported, not synced.
	Undecodable []string
	// Prefix is the personal namespace prefix (RFC 2342), such as "INBOX."
	// on Courier and Cyrus; Plan strips it. Without NAMESPACE it is guessed.
	Prefix string
	// Shared holds the prefixes of the other users' and shared namespaces;
	// their folders are not the account's own mail and are skipped.
	Shared []string
}

// List lists every folder of the account with LIST "" "*", asking for the
// special-use attributes when the server has SPECIAL-USE and LIST-EXTENDED
// (RFC 6154 §5.1). The client should run over Guard, or one undecodable
// folder name makes List fail and close the connection.
func List(c *imapclient.Client) (Listing, error) {
	data, err := c.List("", "*", listOptions(c.Caps())).Collect()
	if err != nil {
		return Listing{}, fmt.Errorf("list folders: %w", err)
	}
	var l Listing
	seen := map[string]bool{}
	for _, d := range data {
		if raw, ok := undecodable(d); ok {
			l.Undecodable = append(l.Undecodable, raw)
			continue
		}
		// A server may list one folder twice (INBOX again as "inbox"): it
		// is one folder, and two workers copying it would collide.
		if key := canonical(d.Mailbox); !seen[key] {
			seen[key] = true
			l.Folders = append(l.Folders, Remote{Name: d.Mailbox, Delim: d.Delim, Attrs: d.Attrs})
		}
	}
	if err := l.namespaces(c); err != nil {
		return Listing{}, err
	}
	return l, nil
}

// canonical is the name that identifies a folder: INBOX in any case is
// INBOX (RFC 3501 §5.1).
func canonical(name string) string {
	if strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	return name
}

func listOptions(caps imap.CapSet) *imap.ListOptions {
	if caps.Has(imap.CapSpecialUse) && caps.Has(imap.CapListExtended) {
		return &imap.ListOptions{ReturnSpecialUse: true}
	}
	return nil
}

// undecodable recognises a LIST reply that Guard rewrote and recovers the
// name the server sent.
func undecodable(d *imap.ListData) (string, bool) {
	hexName, ok := strings.CutPrefix(d.Mailbox, undecodablePrefix)
	if !ok || !(Remote{Attrs: d.Attrs}).Has(undecodableAttr) {
		return "", false
	}
	raw, err := hex.DecodeString(hexName)
	return string(raw), err == nil
}

// namespaces asks NAMESPACE for the personal prefix and the shared ones,
// and falls back to GuessPrefix when the server does not have it.
func (l *Listing) namespaces(c *imapclient.Client) error {
	if !c.Caps().Has(imap.CapNamespace) {
		l.Prefix = GuessPrefix(l.Folders)
		return nil
	}
	ns, err := c.Namespace().Wait()
	if err != nil {
		return fmt.Errorf("list folders: namespace: %w", err)
	}
	if len(ns.Personal) > 0 {
		l.Prefix = ns.Personal[0].Prefix
	}
	for _, d := range append(ns.Other, ns.Shared...) {
		l.Shared = append(l.Shared, d.Prefix)
	}
	return nil
}
