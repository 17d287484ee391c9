package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailpull/mailpull/sync/ledger"
)

// seed returns the PRNG seed of a randomised test: $MAILPULL_TEST_SEED, or
// a fixed one, so that a failure can be replayed.
func seed(t *testing.T, fixed uint64) uint64 {
	t.Helper()
	if s := os.Getenv("MAILPULL_TEST_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("MAILPULL_TEST_SEED: %v", err)
		}
		fixed = n
	}
	t.Logf("seed %d (set MAILPULL_TEST_SEED to replay another)", fixed)
	return fixed
}

var crashFolders = []string{"INBOX", "Work", "Work.Projects", "Archive", "Entwürfe"}

// The promise: whatever instant the process dies, no message is lost and
// none duplicated. A 2,000-message account is copied again and again into a
// fresh local user, each copy killed with SIGKILL at random moments and
// restarted, until a run ends by itself; then the local account must equal
// the remote one. The moments are drawn over half of a whole run, so that a
// copy takes several kills and they fall all along it; the length of a
// whole run is measured first, and again from each copy, as the machine's
// load may change.
func TestSyncSurvivesKills(t *testing.T) {
	const wantKills, maxCopies = 55, 40
	rng := rand.New(rand.NewPCG(seed(t, 20240611), 3))
	w := newWorld(t)
	w.local.AddUser(t, "crash", "pw")
	w.addUsers(t, "crash", maxCopies)
	fill(t, w.remote, smallCorpus(rng, 2000, crashFolders))
	remote := w.remote.Read(t)

	id := w.addUserTask(t, "crash", w.remote.TLSAddr)
	start := time.Now()
	if code, out, errOut := mailpullRun(t, "--config", w.cfg, "sync", id); code != ExitOK {
		t.Fatalf("uninterrupted run: exit %d: %s %s", code, out, errOut)
	}
	full := time.Since(start)
	t.Logf("an uninterrupted run of 2000 messages takes %v", full.Round(time.Millisecond))
	w.checkUser(t, remote, "crash", "uninterrupted run")

	phases := map[string]int{}
	kills, copies := 0, 0
	for copies = 1; kills < wantKills && !t.Failed(); copies++ {
		if copies > maxCopies {
			t.Fatalf("fewer than %d kills in %d copies", wantKills, maxCopies)
		}
		user := fmt.Sprintf("crash%d", copies)
		id := w.addUserTask(t, user, w.remote.TLSAddr)
		k := &killer{t: t, w: w, user: user, ledger: filepath.Join(w.dir, "state", id+".db")}
		for runs := 0; ; runs++ {
			if runs > 80 {
				t.Fatalf("%s: no run ended by itself in 80 tries", user)
			}
			if runs > 0 && runs%20 == 0 {
				// The load grew since full was measured: kills that all
				// fall before a run gets going prove nothing.
				full *= 2
			}
			delay := time.Duration(rng.Int64N(int64(full / 2)))
			phase, killed := k.run(delay, "--config", w.cfg, "sync", id)
			if !killed {
				break
			}
			kills++
			phases[phase]++
		}
		// The copy's running time, less what the kills cost again, is
		// about one whole run under the present load.
		full = (full + k.busy*2/3) / 2
		w.checkUser(t, remote, user, fmt.Sprintf("after %d kills", k.kills))
	}
	t.Logf("%d kills over %d copies of the account (each ended by a run that finished, then compared)", kills, copies-1)
	var names []string
	for p := range phases {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		t.Logf("  %3d killed %s", phases[p], p)
	}
}

// killer runs one task's syncs, kills them, and tells from the ledger and
// the local account where each kill landed.
type killer struct {
	t      *testing.T
	w      *world
	user   string
	ledger string
	kills  int
	busy   time.Duration // the runs' time, together
}

// run starts mailpull and kills it after delay unless it ends first. A run
// that ends by itself must exit 0. It returns where the kill landed.
func (k *killer) run(delay time.Duration, args ...string) (phase string, killed bool) {
	t := k.t
	t.Helper()
	openBefore := k.openIntents()
	countBefore := k.count()
	p := startMailpull(t, args...)
	began := time.Now()
	defer func() { k.busy += time.Since(began) }()
	select {
	case <-p.done:
		if p.code != ExitOK {
			t.Fatalf("%s: run after %d kills: exit %d\n%s%s", k.user, k.kills, p.code, p.stdout.String(), p.stderr.String())
		}
		return "", false
	case <-time.After(delay):
		p.kill()
		if p.code != -1 {
			if p.code != ExitOK {
				t.Fatalf("%s: run after %d kills: exit %d\n%s%s", k.user, k.kills, p.code, p.stdout.String(), p.stderr.String())
			}
			return "", false // it ended just before the signal
		}
	}
	k.kills++
	return k.phase(openBefore, countBefore), true
}

// phase names the moment a kill landed in, from the intents it left open and
// the local messages that arrived before it.
func (k *killer) phase(openBefore map[uint64]bool, countBefore int) string {
	var partial, full, none, old int
	for _, in := range k.intents() {
		if openBefore[in.ID] {
			old++
			continue
		}
		switch landed := k.landed(in); {
		case landed == 0:
			none++
		case landed < len(in.Messages):
			partial++
		default:
			full++
		}
	}
	switch {
	case old > 0:
		return "before the previous run's intents were settled"
	case partial > 0:
		return "mid-batch (an intent's appends half landed)"
	case full > 0:
		return "between the last append and the commit"
	case none > 0:
		return "after an intent was written, before its first append landed"
	case k.count() > countBefore:
		return "between batches (all intents committed)"
	default:
		return "at start-up (nothing copied yet: settle, folders, first STATUS)"
	}
}

// intents are the open intents of the task's ledger (none if no ledger yet).
func (k *killer) intents() []ledger.Intent {
	k.t.Helper()
	if _, err := os.Stat(k.ledger); err != nil {
		return nil
	}
	l, err := ledger.Open(k.ledger)
	if err != nil {
		k.t.Fatalf("ledger after a kill: %v", err)
	}
	defer l.Close()
	open, err := l.OpenIntents()
	if err != nil {
		k.t.Fatalf("ledger after a kill: %v", err)
	}
	return open
}

func (k *killer) openIntents() map[uint64]bool {
	ids := map[uint64]bool{}
	for _, in := range k.intents() {
		ids[in.ID] = true
	}
	return ids
}

// landed counts the local messages that arrived above the intent's UIDNEXT.
func (k *killer) landed(in ledger.Intent) int {
	k.t.Helper()
	c := k.w.local.Dial(k.t, k.user)
	defer c.Logout()
	st, err := c.Status(in.LocalFolder, &imap.StatusOptions{UIDNext: true}).Wait()
	if err != nil {
		k.t.Fatalf("status %s: %v", in.LocalFolder, err)
	}
	return int(uint32(st.UIDNext) - in.LocalUIDNext)
}

// count is the number of messages in the user's account.
func (k *killer) count() int {
	k.t.Helper()
	c := k.w.local.Dial(k.t, k.user)
	defer c.Logout()
	boxes, err := c.List("", "*", &imap.ListOptions{ReturnStatus: &imap.StatusOptions{NumMessages: true}}).Collect()
	if err != nil {
		k.t.Fatalf("list: %v", err)
	}
	n := 0
	for _, b := range boxes {
		if b.Status != nil && b.Status.NumMessages != nil {
			n += int(*b.Status.NumMessages)
		}
	}
	return n
}
