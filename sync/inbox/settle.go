package inbox

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/sync/ledger"
	"github.com/mailpull/mailpull/sync/remote"
)

// settle resolves the intents a dead run left open, before anything is
// delivered again: a message of the intent counts as delivered when a local
// message in any folder (Sieve may have filed it anywhere, the user may
// have moved it) carries its origin. What is not found is delivered again.
func (r *run) settle(ctx context.Context) error {
	open, err := r.openIntents()
	if err != nil || len(open) == 0 {
		return err
	}
	if r.cfg.DryRun {
		r.cfg.Log.Info("open intents would be settled", "intents", len(open))
		return nil
	}
	lc, err := r.localClient(ctx)
	if err != nil {
		return err
	}
	found, err := findOrigins(lc, r.cfg.Task.ID+"/", window(open))
	if err != nil {
		return fmt.Errorf("settle an interrupted delivery: %w", err)
	}
	for _, in := range open {
		var done []ledger.Mapping
		for _, m := range in.Messages {
			if found[m.Origin] {
				done = append(done, ledger.Mapping{RemoteUID: m.UID})
			}
		}
		if err := r.cfg.Ledger.Commit(in.ID, done); err != nil {
			return err
		}
		r.cfg.Log.Info("interrupted delivery settled", "found", len(done), "of", len(in.Messages))
		r.sum.Recovered += len(done)
	}
	return nil
}

func (r *run) openIntents() ([]ledger.Intent, error) {
	all, err := r.cfg.Ledger.OpenIntents()
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(in ledger.Intent) bool { return in.Folder != Folder }), nil
}

// window is the date from which the copies of the intents can be found: a
// delivery's internal date is the moment it arrived, after the intent was
// written; an APPEND keeps the remote date. SEARCH SINCE compares dates in
// the server's time zone (RFC 3501 §6.4.4), hence a day of margin.
func window(open []ledger.Intent) time.Time {
	since := open[0].Started
	for _, in := range open {
		if in.Started.Before(since) {
			since = in.Started
		}
		for _, m := range in.Messages {
			if !m.Date.IsZero() && m.Date.Before(since) {
				since = m.Date
			}
		}
	}
	return since.Add(-24 * time.Hour)
}

// findOrigins returns the origin values starting with prefix of the local
// messages since a date, in every selectable folder. SEARCH HEADER matches
// substrings (RFC 3501 §6.4.4), so the fields of the matches are fetched
// and read whole.
func findOrigins(lc *imapclient.Client, prefix string, since time.Time) (map[string]bool, error) {
	boxes, err := lc.List("", "*", nil).Collect()
	if err != nil {
		return nil, fmt.Errorf("list local folders: %w", err)
	}
	found := map[string]bool{}
	for _, box := range boxes {
		if slices.Contains(box.Attrs, imap.MailboxAttrNoSelect) || slices.Contains(box.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		if err := originsIn(lc, box.Mailbox, prefix, since, found); err != nil {
			return nil, fmt.Errorf("local folder %q: %w", box.Mailbox, err)
		}
	}
	return found, nil
}

var originSection = &imap.FetchItemBodySection{
	Specifier: imap.PartSpecifierHeader, HeaderFields: []string{OriginHeader}, Peek: true,
}

func originsIn(lc *imapclient.Client, folder, prefix string, since time.Time, found map[string]bool) error {
	if _, err := lc.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return fmt.Errorf("examine: %w", err)
	}
	crit := &imap.SearchCriteria{Since: since, Header: []imap.SearchCriteriaHeaderField{{Key: OriginHeader, Value: prefix}}}
	data, err := lc.UIDSearch(crit, nil).Wait()
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	if len(data.AllUIDs()) == 0 {
		return nil
	}
	cmd := lc.Fetch(imap.UIDSetNum(data.AllUIDs()...), &imap.FetchOptions{UID: true,
		BodySection: []*imap.FetchItemBodySection{originSection}})
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		for it := msg.Next(); it != nil; it = msg.Next() {
			if body, ok := it.(imapclient.FetchItemDataBodySection); ok {
				for _, v := range remote.ReadHeader(body.Literal).Values(OriginHeader) {
					if v = strings.TrimSpace(v); strings.HasPrefix(v, prefix) {
						found[v] = true
					}
				}
			}
		}
	}
	return cmd.Close()
}
