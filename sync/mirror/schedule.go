package mirror

import (
	"context"
	"slices"
	"sync"

	"github.com/mailpull/mailpull/sync/folders"
)

// Why the workers' connections are opened early on a first run: a login
// costs several round trips to the remote (greeting, AUTHENTICATE, ID),
// and prepare's LIST, NAMESPACE and STATUS cost as many again. When the
// ledger knows no folder yet, every folder will be copied, so the workers'
// connections are opened while prepare works rather than after it. Later
// runs open them only for folders that changed, so that an unchanged
// account still costs one connection to each server.

// firstRun reports whether the ledger knows no folder yet.
func (r *run) firstRun() bool {
	known, err := r.cfg.Ledger.Folders()
	return err == nil && len(known) == 0
}

// early is the pairs a first run dials while prepare works.
type early struct {
	wg    sync.WaitGroup
	mu    sync.Mutex
	pairs []*pair
}

// predial starts dialing Connections-1 pairs (prepare's own pair is the
// first worker's) when the ledger knows no folder yet.
func (r *run) predial(ctx context.Context) *early {
	e := &early{}
	if !r.first || r.cfg.DryRun || r.cfg.Connections < 2 {
		return e
	}
	for i := 1; i < r.cfg.Connections; i++ {
		e.wg.Go(func() {
			var p pair
			var wg sync.WaitGroup
			var rerr, lerr error
			wg.Go(func() { p.remote, rerr = r.cfg.Remote(ctx) })
			wg.Go(func() { p.local, lerr = r.cfg.Local(ctx) })
			wg.Wait()
			if rerr != nil || lerr != nil {
				// The worker dials again when it needs to, and reports
				// what fails then.
				p.close()
				return
			}
			e.mu.Lock()
			e.pairs = append(e.pairs, &p)
			e.mu.Unlock()
		})
	}
	return e
}

// wait returns the pairs that opened.
func (e *early) wait() []*pair {
	e.wg.Wait()
	return e.pairs
}

func closePairs(pairs []*pair) {
	for _, p := range pairs {
		if p != nil {
			p.close()
		}
	}
}

// largestFirst orders the folders by size, or by message count where the
// server does not tell sizes (STATUS=SIZE, RFC 8438), largest first: the
// workers then finish at about the same time, rather than one of them
// starting the largest folder when the others are done.
func (r *run) largestFirst(maps []folders.Mapping) []folders.Mapping {
	weight := func(m folders.Mapping) int64 {
		st := r.status[m.Remote.Name]
		switch {
		case st == nil:
			return 0
		case st.Size != nil:
			return *st.Size
		case st.NumMessages != nil:
			return int64(*st.NumMessages)
		}
		return 0
	}
	out := slices.Clone(maps)
	slices.SortStableFunc(out, func(a, b folders.Mapping) int {
		wa, wb := weight(a), weight(b)
		switch {
		case wa > wb:
			return -1
		case wa < wb:
			return 1
		}
		return 0
	})
	return out
}
