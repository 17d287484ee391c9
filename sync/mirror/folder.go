package mirror

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/sync/folders"
	"github.com/mailpull/mailpull/sync/ledger"
	"github.com/mailpull/mailpull/sync/remote"
)

// copyFolders runs the folders through Connections workers, each with its
// own pair of connections: one of the pairs given (prepare's, and those a
// first run opened early), or one it opens. The pairs no worker takes are
// closed.
func (r *run) copyFolders(ctx context.Context, maps []folders.Mapping, sep rune, pairs []*pair) error {
	workers := min(r.cfg.Connections, len(maps))
	var open []*pair
	for _, p := range pairs {
		if p != nil {
			open = append(open, p)
		}
	}
	if len(open) > workers {
		closePairs(open[workers:])
		open = open[:workers]
	}
	jobs := make(chan folders.Mapping)
	errs := make(chan error, workers)
	for i := 0; i < workers; i++ {
		p := &pair{}
		if i < len(open) {
			p = open[i]
		}
		go func() { errs <- r.worker(ctx, p, jobs) }()
	}
	var first error
	for _, m := range maps {
		select {
		case jobs <- m:
		case err := <-errs:
			first = err // a worker died: stop handing out folders
			close(jobs)
			return r.drain(errs, workers-1, first)
		}
	}
	close(jobs)
	return r.drain(errs, workers, first)
}

func (r *run) drain(errs chan error, n int, first error) error {
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// worker copies folders until there are none left. A connection failure ends
// the worker and the run (the next run resumes); a folder's own failure is
// recorded and the worker goes on.
func (r *run) worker(ctx context.Context, p *pair, jobs <-chan folders.Mapping) error {
	defer p.close()
	for m := range jobs {
		if err := p.open(ctx, r.cfg); err != nil {
			for range jobs {
			}
			return interrupted(err) // the servers answered moments ago
		}
		if err := r.folder(ctx, p, m); err != nil {
			if lost, err := p.lost(err); lost {
				for range jobs {
				}
				return p.stalled(err)
			}
			r.fail(m.Remote.Name, 0, err)
		}
	}
	return nil
}

// pair is a worker's remote and local connection, under a stall watchdog.
type pair struct {
	remote, local *imapclient.Client
	wd            *remote.Watchdog
	stall         time.Duration
}

func (p *pair) open(ctx context.Context, cfg Config) error {
	var err error
	// A pair opened before the worker needed it may have been closed by
	// its server meanwhile.
	for _, c := range []**imapclient.Client{&p.remote, &p.local} {
		if *c != nil && closed(*c) {
			(*c).Close()
			*c = nil
		}
	}
	if p.remote == nil {
		if p.remote, err = cfg.Remote(ctx); err != nil {
			return err
		}
	}
	if p.local == nil {
		if p.local, err = cfg.Local(ctx); err != nil {
			return err
		}
	}
	if p.wd == nil {
		p.watch(ctx, cfg)
	}
	return nil
}

func (p *pair) broken() bool { return closed(p.remote) || closed(p.local) }

// closed reports whether c's connection is gone. When the connection dies,
// go-imap sets the logout state before it fails the pending commands, and
// closes the Closed channel only after them.
func closed(c *imapclient.Client) bool {
	if c == nil {
		return true
	}
	select {
	case <-c.Closed():
		return true
	default:
		return c.State() == imap.ConnStateLogout
	}
}

func (p *pair) close() {
	if p.wd != nil {
		p.wd.Stop()
	}
	p.closeConns()
}

func (p *pair) closeConns() {
	for _, c := range []*imapclient.Client{p.remote, p.local} {
		if c != nil {
			c.Close()
		}
	}
}

// folder copies one remote folder, and carries flag changes and deletions
// over. An unchanged folder costs one STATUS.
func (r *run) folder(ctx context.Context, p *pair, m folders.Mapping) error {
	name := m.Remote.Name
	st, err := r.folderStatus(p, name)
	if err != nil {
		return err
	}
	prev, known, err := r.cfg.Ledger.Folder(name, st.UIDValidity)
	if err != nil {
		return err
	}
	if known && unchanged(prev, st, m.Local) {
		return r.agedDeletions(p, m, st.UIDValidity)
	}
	adopted, err := r.readopt(p, m, st.UIDValidity)
	if err != nil {
		return fmt.Errorf("re-adopt after a UIDVALIDITY change: %w", err)
	}
	all, todo, already, err := r.todo(p.remote, name, st.UIDValidity)
	if err != nil {
		return err
	}
	todo = remote.Without(todo, adopted)
	r.record(func(s *Summary) { s.Skipped += already })
	if err := r.chores(p, m, st, prev, known, all); err != nil {
		return err
	}
	if err := r.copyFolder(ctx, p, m, st, todo); err != nil {
		return err
	}
	return r.step(p, name, "delete on the remote", r.deleteRemote(p, m, st.UIDValidity))
}

// folderStatus is the STATUS prepare read, or a fresh one.
func (r *run) folderStatus(p *pair, name string) (*imap.StatusData, error) {
	if st := r.status[name]; st != nil {
		return st, nil
	}
	st, err := p.remote.Status(name, &imap.StatusOptions{UIDNext: true, UIDValidity: true, NumMessages: true,
		HighestModSeq: p.remote.Caps().Has(imap.CapCondStore)}).Wait()
	if err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	return st, nil
}

func unchanged(prev ledger.FolderState, st *imap.StatusData, local string) bool {
	return prev.LocalFolder == local && prev.UIDNext == uint32(st.UIDNext) &&
		st.NumMessages != nil && prev.Messages == *st.NumMessages && prev.HighestModSeq == st.HighestModSeq
}

// todo selects the folder and returns all its UIDs, the UIDs to copy (those
// not done yet, and with max_messages only among the newest) and how many
// are done.
func (r *run) todo(rc *imapclient.Client, name string, uidvalidity uint32) (all, todo []imap.UID, already int, err error) {
	// The SEARCH goes out with the SELECT, without waiting for its answer:
	// one round trip instead of two. Should the SELECT fail, the server
	// answers the SEARCH with an error in no folder, which is dropped.
	selCmd := rc.Select(name, &imap.SelectOptions{ReadOnly: true})
	searchCmd := rc.UIDSearch(&imap.SearchCriteria{}, nil)
	sel, err := selCmd.Wait()
	if err != nil {
		_, _ = searchCmd.Wait()
		return nil, nil, 0, fmt.Errorf("select: %w", err)
	}
	found, err := searchCmd.Wait()
	if sel.UIDValidity != uidvalidity {
		return nil, nil, 0, fmt.Errorf("UIDVALIDITY changed during the run (%d, then %d)", uidvalidity, sel.UIDValidity)
	}
	if err != nil {
		return nil, nil, 0, fmt.Errorf("search: %w", err)
	}
	all = found.AllUIDs()
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	wanted := all
	if n := r.cfg.Task.MaxMessages; n > 0 && len(all) > n {
		wanted = all[len(all)-n:]
	}
	done, err := r.cfg.Ledger.Done(name, uidvalidity)
	if err != nil {
		return nil, nil, 0, err
	}
	todo = remote.Without(wanted, done)
	return all, todo, len(wanted) - len(todo), nil
}
