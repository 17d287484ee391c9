package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/mailpull/mailpull/masteruser"
	"github.com/mailpull/mailpull/sync/mirror"
)

// A connection cut at any byte, to the remote or to the local server, in
// either direction: the run fails as temporary (exit 75), or succeeds if
// the cut came after the work; the next run ends with the accounts equal.
// Each trial copies the account into a fresh local user.
func TestSyncSurvivesCutConnections(t *testing.T) {
	const trials = 32
	rng := rand.New(rand.NewPCG(seed(t, 7919), 5))
	w := newWorld(t)
	w.addUsers(t, "fault", trials+1)
	fill(t, w.remote, smallCorpus(rng, 300, crashFolders[:4]))
	remote := w.remote.Read(t)

	proxies := map[string]*cutProxy{"remote": newCutProxy(t, w.remote.TLSAddr), "local": newCutProxy(t, w.local.IMAPAddr)}
	w.cfg = w.localThrough(t, proxies["local"].addr())

	// A clean run through both proxies, to learn how many bytes go each way.
	id := w.addUserTask(t, fmt.Sprintf("fault%d", trials+1), proxies["remote"].addr())
	if code, out, errOut := mailpullRun(t, "--config", w.cfg, "sync", id); code != ExitOK {
		t.Fatalf("run without cuts: exit %d: %s %s", code, out, errOut)
	}
	totals := map[string][2]int64{}
	for side, p := range proxies {
		totals[side], _ = p.disarm()
		t.Logf("%s connections of a whole run: %d bytes to the server, %d back", side, totals[side][toServer], totals[side][toClient])
	}

	outcomes := map[string]int{}
	for i := 1; i <= trials; i++ {
		side := []string{"remote", "local"}[i%2]
		dir := rng.IntN(2)
		at := cutPoint(rng, totals[side][dir])
		where := fmt.Sprintf("trial %d: %s side, cut at byte %d of %d %s", i, side, at, totals[side][dir],
			[]string{"to the server", "from the server"}[dir])
		user := fmt.Sprintf("fault%d", i)
		id := w.addUserTask(t, user, proxies["remote"].addr())

		proxies[side].arm(dir, at)
		code, out, errOut := mailpullRun(t, "--config", w.cfg, "sync", id)
		_, fired := proxies[side].disarm()
		switch {
		case !fired && code != ExitOK:
			t.Errorf("%s: the cut never happened, yet exit %d: %s%s", where, code, out, errOut)
		case fired && side == "local" && (code == ExitUnavailable || code == ExitPartial) && localLoginFailed(errOut):
			// Cut before the run's first master login was answered. Dovecot
			// also drops the connection before its greeting when it refuses
			// service (69), and at the login of an unknown user when its
			// master passdb lacks result_success = continue, which is why
			// masteruser leaves a dropped login unclassified (1).
		case fired && code != ExitTempFail && code != ExitOK:
			t.Errorf("%s: exit %d, want %d (temporary) or 0:\n%s%s", where, code, ExitTempFail, out, errOut)
		case code == ExitOK:
			w.checkUser(t, remote, user, where+", a run that said it was done")
		}
		outcomes[fmt.Sprintf("%s side, cut=%v, exit %d", side, fired, code)]++

		if code, out, errOut := mailpullRun(t, "--config", w.cfg, "sync", id); code != ExitOK {
			t.Errorf("%s: the run after: exit %d: %s%s", where, code, out, errOut)
		}
		w.checkUser(t, remote, user, where+", then a run without cuts")
	}
	var keys []string
	for k := range outcomes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("%3d trials: %s", outcomes[k], k)
	}
}

// localLoginFailed tells from mailpull's stderr that the run ended because
// its master login to the local server got no answer.
func localLoginFailed(stderr string) bool {
	return strings.Contains(stderr, "mailpull: log in as ") && strings.Contains(stderr, "through master user") &&
		!strings.Contains(stderr, masteruser.ErrMasterAuth.Error()) && !strings.Contains(stderr, masteruser.ErrUnknownUser.Error())
}

// cutPoint draws a byte offset: one time in four within the first 4 KB
// (greeting, TLS, login, LIST), else anywhere in the run.
func cutPoint(rng *rand.Rand, total int64) int64 {
	if rng.IntN(4) == 0 {
		return rng.Int64N(min(4096, total))
	}
	return rng.Int64N(total)
}

// localThrough writes a copy of the world's configuration whose local
// Dovecot IMAP address is addr.
func (w *world) localThrough(t *testing.T, addr string) string {
	t.Helper()
	b, err := os.ReadFile(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	old := fmt.Sprintf("imap = %q", w.local.IMAPAddr)
	if !strings.Contains(string(b), old) {
		t.Fatalf("configuration has no %s", old)
	}
	return writeConfig(t, strings.Replace(string(b), old, fmt.Sprintf("imap = %q", addr), 1))
}

// A broken connection is a temporary failure, unless the package that
// dialed classified the failure itself.
func TestInterruptedExitCodes(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("append: %w", mirror.ErrInterrupted), ExitTempFail},
		{errors.Join(masteruser.ErrUnreachable, mirror.ErrInterrupted), ExitUnavailable},
		{errors.Join(masteruser.ErrMasterAuth, mirror.ErrInterrupted), ExitNoPerm},
		{errors.Join(mirror.ErrPartial), ExitPartial},
	} {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("%v: exit %d, want %d", c.err, got, c.want)
		}
	}
}
