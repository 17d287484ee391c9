package ledger

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// batch is an intent for remote UIDs first..first+n-1 of folder at
// uidvalidity 7, copied to "Local/"+folder.
func batch(folder string, first, n uint32) Intent {
	in := Intent{
		Folder: folder, UIDValidity: 7,
		LocalFolder: "Local/" + folder, LocalUIDValidity: 99, LocalUIDNext: first + 1000,
	}
	for uid := first; uid < first+n; uid++ {
		in.Messages = append(in.Messages, IntentMessage{
			UID:       uid,
			Size:      int64(1000 + uid),
			Date:      time.Date(2024, 5, 1, 10, 0, int(uid%60), 0, time.FixedZone("", 7200)),
			MessageID: fmt.Sprintf("<%d@example.org>", uid),
			Origin:    fmt.Sprintf("a0241w/7/%d", uid),
		})
	}
	return in
}

// appended is what APPENDUID would answer for the whole batch.
func appended(in Intent) []Mapping {
	var ms []Mapping
	for i, m := range in.Messages {
		ms = append(ms, Mapping{RemoteUID: m.UID, LocalUID: in.LocalUIDNext + uint32(i)})
	}
	return ms
}

// copyBatches copies n messages of folder in batches of size, as the
// mirror engine does.
func copyBatches(t testing.TB, l *Ledger, folder string, n, size uint32) {
	t.Helper()
	for first := uint32(1); first <= n; first += size {
		in := batch(folder, first, min(size, n-first+1))
		id, err := l.Begin(in)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Commit(id, appended(in)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCommitRoundTrip(t *testing.T) {
	l, path := openTemp(t)
	in := batch("INBOX", 10, 3)
	id, err := l.Begin(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(id, appended(in)); err != nil {
		t.Fatal(err)
	}
	l = reopen(t, l, path)
	wantDone(t, l, "INBOX", 10, 11, 12)
	ms, err := l.Mappings("INBOX", 7)
	if err != nil || !slices.Equal(ms, appended(in)) {
		t.Errorf("mappings = %v, %v; want %v", ms, err, appended(in))
	}
	if h, err := l.Highest("INBOX", 7); h != 12 || err != nil {
		t.Errorf("highest = %d, %v; want 12", h, err)
	}
	wantOpen(t, l)
}

// A crash after Begin leaves the intent, whole, for the next run.
func TestIntentSurvivesCrash(t *testing.T) {
	l, path := openTemp(t)
	in := batch("Sent", 1, 3)
	id, err := l.Begin(in)
	if err != nil {
		t.Fatal(err)
	}
	l = reopen(t, l, path) // the crash: no Commit
	got := wantOpen(t, l, id)[0]
	if got.Started.IsZero() || time.Since(got.Started) > time.Minute {
		t.Errorf("started = %v", got.Started)
	}
	in.ID, in.Started = id, got.Started
	if err := sameIntent(got, in); err != nil {
		t.Error(err)
	}
	wantDone(t, l, "Sent")

	// The engine found UIDs 1 and 3 among the local messages.
	adopted := []Mapping{{1, 1000}, {3, 1002}}
	if err := l.Commit(id, adopted); err != nil {
		t.Fatal(err)
	}
	l = reopen(t, l, path)
	wantOpen(t, l)
	wantDone(t, l, "Sent", 1, 3)
}

// A Commit that fails writes nothing: not the mappings that came before
// the bad one, and the intent stays open.
func TestFailingCommitLeavesIntent(t *testing.T) {
	l, path := openTemp(t)
	in := batch("INBOX", 1, 3)
	id, err := l.Begin(in)
	if err != nil {
		t.Fatal(err)
	}
	err = l.Commit(id, []Mapping{{1, 1000}, {2, 1001}, {4, 1002}})
	if err == nil {
		t.Fatal("commit of a uid outside the intent succeeded")
	}
	t.Log(err)
	l = reopen(t, l, path)
	wantDone(t, l, "INBOX")
	wantOpen(t, l, id)
}

func TestCommitTwice(t *testing.T) {
	l, _ := openTemp(t)
	id, err := l.Begin(batch("INBOX", 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(id, nil); err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(id, nil); !errors.Is(err, ErrNoIntent) {
		t.Fatalf("second commit: %v, want ErrNoIntent", err)
	}
	wantDone(t, l, "INBOX")
}

func TestBeginRefuses(t *testing.T) {
	l, _ := openTemp(t)
	copyBatches(t, l, "INBOX", 5, 5)
	if _, err := l.Begin(batch("INBOX", 6, 5)); err != nil {
		t.Fatal(err)
	}
	bad := map[string]Intent{
		"done already":      batch("INBOX", 5, 1),
		"in an open intent": batch("INBOX", 10, 2),
		"no messages":       batch("INBOX", 20, 0),
		"no folder":         batch("", 20, 1),
		"uid 0":             batch("INBOX", 0, 1),
		"uidvalidity 0":     func() Intent { in := batch("INBOX", 20, 1); in.UIDValidity = 0; return in }(),
		"duplicate uid": func() Intent {
			in := batch("INBOX", 20, 1)
			in.Messages = append(in.Messages, in.Messages[0])
			return in
		}(),
	}
	for name, in := range bad {
		if _, err := l.Begin(in); err == nil {
			t.Errorf("%s: begin succeeded", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	// Another UIDVALIDITY is another set of messages.
	other := batch("INBOX", 1, 1)
	other.UIDValidity = 8
	if _, err := l.Begin(other); err != nil {
		t.Error(err)
	}
}

// TestTenThousand measures what the mirror engine's batching costs: 10,000
// mappings in batches of 100, each batch an intent and a commit, fsync'd.
func TestTenThousand(t *testing.T) {
	if testing.Short() {
		t.Skip("run without -short to measure")
	}
	l, path := openTemp(t)
	start := time.Now()
	copyBatches(t, l, "INBOX", 10000, 100)
	elapsed := time.Since(start)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	var used int64
	l.db.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil })
	t.Logf("10000 mappings in 100 batches: %v (%.0f msgs/s), file %d bytes, %d in pages",
		elapsed.Round(time.Millisecond), 10000/elapsed.Seconds(), fi.Size(), used)
	start = time.Now()
	l = reopen(t, l, path)
	t.Logf("close, check and reopen: %v", time.Since(start).Round(time.Millisecond))
	done, err := l.Done("INBOX", 7)
	if err != nil || len(done) != 10000 || done[9999] != 10000 {
		t.Fatalf("done: %d uids, %v", len(done), err)
	}
}

func wantDone(t *testing.T, l *Ledger, folder string, want ...uint32) {
	t.Helper()
	done, err := l.Done(folder, 7)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(done, want) {
		t.Errorf("done in %s = %v, want %v", folder, done, want)
	}
	for _, uid := range want {
		if ok, err := l.IsDone(folder, 7, uid); !ok || err != nil {
			t.Errorf("IsDone(%s, %d) = %v, %v", folder, uid, ok, err)
		}
	}
}

func wantOpen(t *testing.T, l *Ledger, ids ...uint64) []Intent {
	t.Helper()
	open, err := l.OpenIntents()
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for _, in := range open {
		got = append(got, in.ID)
	}
	if !slices.Equal(got, ids) {
		t.Errorf("open intents %v, want %v", got, ids)
	}
	return open
}

// sameIntent compares intents by instant, not by time zone: the ledger keeps
// instants.
func sameIntent(a, b Intent) error {
	a.Messages, b.Messages = slices.Clone(a.Messages), slices.Clone(b.Messages)
	if !a.Started.Equal(b.Started) || len(a.Messages) != len(b.Messages) {
		return fmt.Errorf("intents differ:\n%+v\n%+v", a, b)
	}
	for i := range a.Messages {
		if !a.Messages[i].Date.Equal(b.Messages[i].Date) {
			return fmt.Errorf("message %d dates differ: %v, %v", i, a.Messages[i].Date, b.Messages[i].Date)
		}
		a.Messages[i].Date, b.Messages[i].Date = time.Time{}, time.Time{}
	}
	a.Started, b.Started = time.Time{}, time.Time{}
	if fmt.Sprint(a) != fmt.Sprint(b) {
		return fmt.Errorf("intents differ:\n%+v\n%+v", a, b)
	}
	return nil
}

// A process killed at any instant leaves a ledger that opens, with at most
// the one batch in flight open, and no message both done and open.
func TestKilledWhileCopying(t *testing.T) {
	if testing.Short() {
		t.Skip("run without -short to kill copying processes")
	}
	l, path := openTemp(t)
	l.Close()
	for round := range 5 {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "LEDGER_HELPER_COPY="+path)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(150+37*round) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		checkCopied(t, path)
	}
}

// helperCopy is the process TestKilledWhileCopying kills: it resolves what
// the previous one left, then copies until killed.
func helperCopy(path string) error {
	l, err := Open(path)
	if err != nil {
		return err
	}
	open, err := l.OpenIntents()
	if err != nil {
		return err
	}
	for _, in := range open {
		// As if the engine found the first half of the batch locally.
		if err := l.Commit(in.ID, appended(in)[:len(in.Messages)/2]); err != nil {
			return err
		}
	}
	first, _ := l.Highest("INBOX", 7)
	for first++; ; first += 100 {
		in := batch("INBOX", first, 100)
		id, err := l.Begin(in)
		if err != nil {
			return err
		}
		time.Sleep(time.Millisecond) // the appends
		if err := l.Commit(id, appended(in)); err != nil {
			return err
		}
	}
}

func checkCopied(t *testing.T, path string) {
	t.Helper()
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done, err := l.Done("INBOX", 7)
	if err != nil {
		t.Fatal(err)
	}
	open, err := l.OpenIntents()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint32]bool{}
	for _, uid := range done {
		seen[uid] = true
	}
	for _, in := range open {
		for _, m := range in.Messages {
			if seen[m.UID] {
				t.Fatalf("uid %d is done and in open intent %d", m.UID, in.ID)
			}
		}
	}
	if len(open) > 1 {
		t.Errorf("%d open intents, want at most the batch in flight", len(open))
	}
	t.Logf("after kill: %d done, %d open intents", len(done), len(open))
}
