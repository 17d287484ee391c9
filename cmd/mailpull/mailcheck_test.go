package main

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/internal/rig"
)

// smallCorpus is n small messages (0.3–2 KB) with unique Message-IDs,
// flags and dates drawn from rng, spread over folders.
func smallCorpus(rng *rand.Rand, n int, folders []string) map[string][]rig.Message {
	flagSets := [][]imap.Flag{nil, {imap.FlagSeen}, {imap.FlagSeen, imap.FlagAnswered},
		{imap.FlagFlagged, "$Label1"}, {imap.FlagDraft}, {imap.FlagSeen, "Junk", "$Forwarded"}}
	out := map[string][]rig.Message{}
	for i := 1; i <= n; i++ {
		folder := folders[rng.IntN(len(folders))]
		var b strings.Builder
		fmt.Fprintf(&b, "From: sender%d@example.net\r\nTo: someone@example.org\r\nMessage-ID: <%d.%x@corpus.example.net>\r\nSubject: message %d\r\n\r\n",
			rng.IntN(50), i, rng.Uint32(), i)
		for lines := 4 + rng.IntN(28); lines > 0; lines-- {
			fmt.Fprintf(&b, "line %d of message %d, some words to make it longer\r\n", lines, i)
		}
		date := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(9 * 365 * 24 * time.Hour)))).Truncate(time.Second)
		out[folder] = append(out[folder], rig.Message{Flags: flagSets[rng.IntN(len(flagSets))], Date: date, Body: []byte(b.String())})
	}
	return out
}

// fill appends msgs to the remote, pipelined: APPENDs with non-synchronizing
// literals go out back to back and are waited for in groups.
func fill(t *testing.T, r *rig.Remote, corpus map[string][]rig.Message) {
	t.Helper()
	c := r.Dial(t)
	for folder, msgs := range corpus {
		rig.Append(t, c, folder) // creates it
		for len(msgs) > 0 {
			n := min(200, len(msgs))
			var cmds []*imapclient.AppendCommand
			for _, m := range msgs[:n] {
				cmd := c.Append(folder, int64(len(m.Body)), &imap.AppendOptions{Flags: m.Flags, Time: m.Date})
				_, errW := cmd.Write(m.Body)
				if err := errors.Join(errW, cmd.Close()); err != nil {
					t.Fatalf("append to %s: %v", folder, err)
				}
				cmds = append(cmds, cmd)
			}
			for _, cmd := range cmds {
				if _, err := cmd.Wait(); err != nil {
					t.Fatalf("append to %s: %v", folder, err)
				}
			}
			msgs = msgs[n:]
		}
	}
	_ = c.Logout().Wait()
}

// addUsers adds local users prefix1 … prefixN. Dovecot notices a changed
// passwd-file by its mtime, in whole seconds: users are added before any
// login, not between them.
func (w *world) addUsers(t *testing.T, prefix string, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		w.local.AddUser(t, fmt.Sprintf("%s%d", prefix, i), "pw")
	}
}

// addUserTask adds a task pulling the remote account into user's, through
// remoteAddr (the remote itself or a proxy in front of it).
func (w *world) addUserTask(t *testing.T, user, remoteAddr string) string {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(w.remote.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(remoteAddr)
	code, out, errOut := runCLI(t, "--config", w.cfg, "task", "add", "--local-user", user, "--host", host, "--port", port,
		"--user", w.remote.User, "--password-file", pw, "--tls-ca", w.remote.CA.CAFile, "--no-check")
	if code != ExitOK {
		t.Fatalf("task add: exit %d: %s", code, errOut)
	}
	return strings.TrimSpace(out)
}

// tally is the verdict on one copy of an account.
type tally struct {
	Lost, Duplicated, Foreign int      // messages missing locally, extra copies, local messages the remote lacks
	Differ                    []string // folders whose messages are not rig.EqualMessages
}

func (c tally) ok() bool {
	return c.Lost == 0 && c.Duplicated == 0 && c.Foreign == 0 && len(c.Differ) == 0
}

// compare checks local against remote folder by folder (names mapped from
// the remote separator rsep to the local lsep): the same messages in the same
// order (bytes, flags, internal dates), and counts Message-IDs to tell lost
// messages from duplicated ones.
func compare(remote, local map[string][]rig.Message, rsep, lsep string) tally {
	var c tally
	seen := map[string]bool{}
	for name, msgs := range remote {
		lname := strings.ReplaceAll(name, rsep, lsep)
		seen[lname] = true
		count := map[string]int{}
		for _, m := range local[lname] {
			count[messageID(m.Body)]++
		}
		for _, m := range msgs {
			id := messageID(m.Body)
			switch n := count[id]; {
			case n == 0:
				c.Lost++
			default:
				c.Duplicated += n - 1
			}
			delete(count, id)
		}
		for _, n := range count {
			c.Foreign += n
		}
		if !rig.EqualMessages(msgs, local[lname]) {
			c.Differ = append(c.Differ, fmt.Sprintf("%s (remote %d, local %d)", name, len(msgs), len(local[lname])))
		}
	}
	for name, msgs := range local {
		if !seen[name] {
			c.Foreign += len(msgs)
			if len(msgs) > 0 {
				c.Differ = append(c.Differ, fmt.Sprintf("local-only %s (%d)", name, len(msgs)))
			}
		}
	}
	sort.Strings(c.Differ)
	return c
}

func messageID(body []byte) string {
	i := bytes.Index(body, []byte("Message-ID: "))
	if i < 0 {
		return ""
	}
	rest := body[i+len("Message-ID: "):]
	return string(rest[:bytes.IndexByte(rest, '\r')])
}

// checkUser fails the test unless user's account equals the remote one.
func (w *world) checkUser(t *testing.T, remote map[string][]rig.Message, user, when string) {
	t.Helper()
	c := compare(remote, w.local.Read(t, user), w.remote.Separator, w.local.Separator)
	if !c.ok() {
		t.Errorf("%s: %s: lost %d, duplicated %d, foreign %d, differing folders %v", when, user, c.Lost, c.Duplicated, c.Foreign, c.Differ)
	}
}

// The checker itself: a planted duplicate, a lost message, a changed flag
// and a reordering are each caught.
func TestCompareCatchesDamage(t *testing.T) {
	remote := smallCorpus(rand.New(rand.NewPCG(1, 2)), 40, []string{"INBOX", "A.B"})
	clone := func() map[string][]rig.Message {
		out := map[string][]rig.Message{}
		for k, v := range remote {
			out[strings.ReplaceAll(k, ".", "/")] = append([]rig.Message(nil), v...)
		}
		return out
	}
	if c := compare(remote, clone(), ".", "/"); !c.ok() {
		t.Fatalf("identical accounts: %+v", c)
	}
	dup := clone()
	dup["INBOX"] = append(dup["INBOX"], dup["INBOX"][3])
	lost := clone()
	lost["A/B"] = lost["A/B"][1:]
	flags := clone()
	flags["INBOX"][0].Flags = []imap.Flag{"$Other"}
	order := clone()
	order["A/B"][0], order["A/B"][1] = order["A/B"][1], order["A/B"][0]
	for _, c := range []struct {
		name string
		got  tally
		want func(tally) bool
	}{
		{"duplicate", compare(remote, dup, ".", "/"), func(c tally) bool { return c.Duplicated == 1 && c.Lost == 0 }},
		{"lost", compare(remote, lost, ".", "/"), func(c tally) bool { return c.Lost == 1 && c.Duplicated == 0 }},
		{"flags", compare(remote, flags, ".", "/"), func(c tally) bool { return len(c.Differ) == 1 }},
		{"order", compare(remote, order, ".", "/"), func(c tally) bool { return len(c.Differ) == 1 }},
	} {
		if c.got.ok() || !c.want(c.got) {
			t.Errorf("%s: %+v", c.name, c.got)
		}
	}
}
