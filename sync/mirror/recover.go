package mirror

import (
	"fmt"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/sync/ledger"
)

// settle resolves the intents a dead run left open. A message of the intent
// counts as copied when a local message above the intent's UIDNEXT has the
// same size, internal date and Message-ID; each local message is claimed at
// most once. What is not found is copied again by this run.
func (r *run) settle(lc *imapclient.Client) error {
	open, err := r.cfg.Ledger.OpenIntents()
	if err != nil {
		return err
	}
	for _, in := range open {
		if r.cfg.DryRun {
			r.cfg.Log.Info("open intent would be settled", "folder", in.Folder, "messages", len(in.Messages))
			continue
		}
		adopted, err := adopt(lc, in)
		if err != nil {
			return fmt.Errorf("settle the copy of %q interrupted at %s: %w", in.Folder, in.Started.Format(time.RFC3339), err)
		}
		if err := r.cfg.Ledger.Commit(in.ID, adopted); err != nil {
			return err
		}
		r.cfg.Log.Info("interrupted copy settled", "folder", in.Folder, "found", len(adopted), "of", len(in.Messages))
		r.record(func(s *Summary) { s.Adopted += len(adopted) })
	}
	return nil
}

// adopt finds the local copies of an intent's messages.
func adopt(lc *imapclient.Client, in ledger.Intent) ([]ledger.Mapping, error) {
	sel, err := lc.Select(in.LocalFolder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if isNonexistent(err) {
		return nil, nil // the folder is gone: nothing of the intent is there
	}
	if err != nil {
		return nil, err
	}
	if sel.UIDValidity != in.LocalUIDValidity || uint32(sel.UIDNext) <= in.LocalUIDNext {
		return nil, nil
	}
	var set imap.UIDSet
	set.AddRange(imap.UID(in.LocalUIDNext), 0)
	candidates, err := fetchMeta(lc, set)
	if err != nil {
		return nil, err
	}
	return match(in.Messages, candidates), nil
}

// match pairs the intent's messages with local copies: first by size,
// internal date and Message-ID; then, for what is left, by date and
// Message-ID alone where that pair names one message on each side. The
// size is RFC822.SIZE as the remote stated it, which some servers state
// wrongly: without the second pass such a copy would be copied again.
func match(want []ledger.IntentMessage, local []meta) []ledger.Mapping {
	claimed := make([]bool, len(local))
	matched := make([]bool, len(want))
	var out []ledger.Mapping
	for wi, w := range want {
		for i, l := range local {
			if claimed[i] || l.size != w.Size || !l.date.Equal(w.Date) || l.messageID != w.MessageID {
				continue
			}
			claimed[i], matched[wi] = true, true
			out = append(out, ledger.Mapping{RemoteUID: w.UID, LocalUID: l.uid})
			break
		}
	}
	return append(out, matchBySizeless(want, matched, local, claimed)...)
}

// matchBySizeless is match's second pass.
func matchBySizeless(want []ledger.IntentMessage, matched []bool, local []meta, claimed []bool) []ledger.Mapping {
	key := func(date time.Time, id string) string { return date.UTC().Format(time.RFC3339) + " " + id }
	wants, locals := map[string][]int{}, map[string][]int{}
	for wi, w := range want {
		if !matched[wi] && w.MessageID != "" {
			wants[key(w.Date, w.MessageID)] = append(wants[key(w.Date, w.MessageID)], wi)
		}
	}
	for i, l := range local {
		if !claimed[i] && l.messageID != "" {
			locals[key(l.date, l.messageID)] = append(locals[key(l.date, l.messageID)], i)
		}
	}
	var out []ledger.Mapping
	for k, ws := range wants {
		if ls := locals[k]; len(ws) == 1 && len(ls) == 1 {
			claimed[ls[0]] = true
			out = append(out, ledger.Mapping{RemoteUID: want[ws[0]].UID, LocalUID: local[ls[0]].uid})
		}
	}
	return out
}
