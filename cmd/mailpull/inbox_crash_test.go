package main

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailpull/mailpull/internal/rig"
	"github.com/mailpull/mailpull/sync/inbox"
	"github.com/mailpull/mailpull/sync/ledger"
)

// The promise of INBOX mode: whatever instant the process dies, each
// message is delivered exactly once. A 1,000-message INBOX is delivered
// through LMTP, with a Sieve script filing part of it, by runs killed with
// SIGKILL at random moments and restarted, until one ends by itself; then
// every origin must be found once across all the user's folders, and every
// remote message must be \Seen with its other flags intact. The moments are
// drawn over a tenth of an uninterrupted run, so that dozens of kills land
// all along one delivery (each restart pays its start-up and settling); a
// copy that ends before 52 kills is followed by another, into a fresh user.
func TestSyncInboxSurvivesKills(t *testing.T) {
	const n, wantKills = 1000, 52
	rng := rand.New(rand.NewPCG(seed(t, 20261123), 7))
	w := newInboxWorld(t, rig.LocalOptions{})
	var msgs []rig.Message
	for i := 1; i <= n; i++ {
		var flags []imap.Flag
		switch rng.IntN(4) {
		case 0:
			flags = []imap.Flag{imap.FlagSeen}
		case 1:
			flags = []imap.Flag{imap.FlagFlagged, "$Label1"}
		}
		msgs = append(msgs, inboxMail(i, flags...))
	}
	w.remote.Put(t, "INBOX", msgs...)
	want := inboxFlagsAfter(w.remote.Read(t)["INBOX"])

	c := &inboxCrash{t: t, w: w}
	full := c.uninterrupted()
	kills, withOpen, copies := 0, 0, 0
	for kills < wantKills && !t.Failed() {
		copies++
		k, o := c.copy(fmt.Sprintf("crash%d", copies), rng, full/10, want)
		kills, withOpen = kills+k, withOpen+o
	}
	t.Logf("%d kills over %d copies; %d of them left a batch open for the next run to settle", kills, copies, withOpen)
	if withOpen < 5 {
		t.Errorf("only %d kills left an open intent: the settling was hardly tested", withOpen)
	}
}

type inboxCrash struct {
	t *testing.T
	w *world
}

// uninterrupted delivers the INBOX once to a user of its own and returns
// how long that took. Its peak RSS must stay under 64 MiB: bodies stream
// from the FETCH literal into LMTP DATA, nothing holds a whole INBOX.
func (c *inboxCrash) uninterrupted() time.Duration {
	c.t.Helper()
	id := c.task("crash0")
	start := time.Now()
	p := startMailpull(c.t, "--config", c.w.cfg, "sync", id)
	if code := p.wait(); code != ExitOK {
		c.t.Fatalf("uninterrupted run: exit %d: %s %s", code, p.stdout.String(), p.stderr.String())
	}
	full := time.Since(start)
	rss := p.cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB on Linux
	c.t.Logf("an uninterrupted run delivers 1000 messages in %v, peak RSS %d KiB", full.Round(time.Millisecond), rss)
	if rss > 64<<10 {
		c.t.Errorf("peak RSS %d KiB, over 64 MiB", rss)
	}
	c.check("crash0", id, "uninterrupted run")
	return full
}

// task adds user, with a Sieve script that files a tenth of the mail, and
// an INBOX task for it; the remote is made unread again first.
func (c *inboxCrash) task(user string) string {
	c.t.Helper()
	c.w.local.AddUser(c.t, user, "pw-"+user)
	c.w.local.SetSieve(c.t, user, "require \"fileinto\";\nif header :matches \"subject\" \"*7\" { fileinto \"Sevens\"; }\n")
	rc := c.w.remote.Dial(c.t)
	rc.Select("INBOX", nil).Wait()
	unseen := &imap.StoreFlags{Op: imap.StoreFlagsDel, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}
	if err := rc.Store(imap.SeqSet{{Start: 1, Stop: 0}}, unseen, nil).Close(); err != nil {
		c.t.Fatal(err)
	}
	rc.Logout().Wait()
	return c.w.addTask(c.t, "--local-user", user, "--no-check", "--folders", "inbox", "--sieve", "--first-run", "all")
}

// copy delivers the INBOX to a new user through killed runs and checks
// the result. It returns the kills, and how many left an open intent.
func (c *inboxCrash) copy(user string, rng *rand.Rand, span time.Duration, want map[string][]imap.Flag) (kills, withOpen int) {
	t := c.t
	id := c.task(user)
	db := filepath.Join(c.w.dir, "state", id+".db")
	for runs := 0; ; runs++ {
		if runs > 400 {
			t.Fatalf("%s: no run ended by itself in 400 tries", user)
		}
		p := startMailpull(t, "--config", c.w.cfg, "sync", id)
		select {
		case <-p.done:
		case <-time.After(time.Duration(rng.Int64N(int64(span)))):
			p.kill()
		}
		if p.code == -1 {
			kills++
			if openIntents(t, db) > 0 {
				withOpen++
			}
			continue
		}
		if p.code != ExitOK {
			t.Fatalf("%s: run after %d kills: exit %d\n%s%s", user, kills, p.code, p.stdout.String(), p.stderr.String())
		}
		break
	}
	c.check(user, id, fmt.Sprintf("after %d kills", kills))
	c.remoteFlags(want, user)
	return kills, withOpen
}

func openIntents(t *testing.T, db string) int {
	t.Helper()
	l, err := ledger.Open(db)
	if err != nil {
		return 0 // no ledger yet: killed before it was created
	}
	defer l.Close()
	open, err := l.OpenIntents()
	if err != nil {
		t.Fatalf("ledger after a kill: %v", err)
	}
	return len(open)
}

// check counts user's messages by origin across all folders: each remote
// UID once, nothing else.
func (c *inboxCrash) check(user, id, when string) {
	c.t.Helper()
	counts := map[string]int{}
	total := 0
	for _, msgs := range c.w.local.Read(c.t, user) {
		for _, m := range msgs {
			counts[inboxHeader(m.Body, inbox.OriginHeader)]++
			total++
		}
	}
	uv := c.remoteUIDValidity()
	bad := 0
	for uid := uint32(1); uid <= 1000; uid++ {
		if n := counts[inbox.Origin(id, uv, uid)]; n != 1 {
			bad++
			if bad <= 5 {
				c.t.Errorf("%s, %s: UID %d delivered %d times", user, when, uid, n)
			}
		}
	}
	if total != 1000 {
		c.t.Errorf("%s, %s: %d local messages, want 1000", user, when, total)
	}
}

func (c *inboxCrash) remoteUIDValidity() uint32 {
	rc := c.w.remote.Dial(c.t)
	defer rc.Logout()
	sel, err := rc.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		c.t.Fatal(err)
	}
	return sel.UIDValidity
}

// remoteFlags checks that every remote message is \Seen and kept its other
// flags.
func (c *inboxCrash) remoteFlags(want map[string][]imap.Flag, user string) {
	c.t.Helper()
	got := inboxFlagsAfter(c.w.remote.Read(c.t)["INBOX"])
	for id, flags := range want {
		if !slices.Equal(got[id], flags) {
			c.t.Errorf("%s: remote %s: flags %v, want %v", user, id, got[id], flags)
			return
		}
	}
}

// inboxFlagsAfter maps each message's Message-ID to its flags plus \Seen,
// sorted: what the remote must show once the message is delivered.
func inboxFlagsAfter(msgs []rig.Message) map[string][]imap.Flag {
	out := map[string][]imap.Flag{}
	for _, m := range msgs {
		f := slices.Clone(m.Flags)
		if !slices.Contains(f, imap.FlagSeen) {
			f = append(f, imap.FlagSeen)
		}
		slices.Sort(f)
		out[inboxHeader(m.Body, "Message-ID")] = f
	}
	return out
}

// inboxHeader is the first field called name of a stored message.
func inboxHeader(body []byte, name string) string {
	for _, line := range strings.Split(string(body), "\r\n") {
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
