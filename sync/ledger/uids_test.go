package ledger

import (
	"slices"
	"testing"
)

func TestFolderStateRoundTrip(t *testing.T) {
	l, path := openTemp(t)
	if _, ok, err := l.Folder("INBOX", 7); ok || err != nil {
		t.Fatalf("folder before set: ok=%v, %v", ok, err)
	}
	want := FolderState{
		LocalFolder: "Archive/2024", LocalUIDValidity: 1700000000,
		UIDNext: 501, Messages: 480, HighestModSeq: 1 << 40, FirstRunUIDNext: 300,
	}
	if err := l.SetFolder("INBOX", 7, want); err != nil {
		t.Fatal(err)
	}
	l = reopen(t, l, path)
	got, ok, err := l.Folder("INBOX", 7)
	if !ok || err != nil || got != want {
		t.Errorf("folder = %+v, %v, %v; want %+v", got, ok, err, want)
	}
	if err := l.SetFolder("", 7, want); err == nil {
		t.Error("set folder with an empty name succeeded")
	}
}

// Folder names are bucket keys, never joined into strings: names that a
// separator-based key would confuse stay apart.
func TestFolderNamesDoNotCollide(t *testing.T) {
	l, _ := openTemp(t)
	names := []string{"a", "a/7", "a\x00", "a\x00\x00\x00\x00\x07", "Entwürfe", "&-", "[Gmail]/All Mail", " "}
	for i, name := range names {
		id, err := l.Begin(batch(name, uint32(i+1), 1))
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Commit(id, []Mapping{{uint32(i + 1), 1}}); err != nil {
			t.Fatal(err)
		}
	}
	for i, name := range names {
		wantDone(t, l, name, uint32(i+1))
	}
	got, err := l.Folders()
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Sorted(slices.Values(names))
	if !slices.Equal(got, want) {
		t.Errorf("folders = %q, want %q", got, want)
	}
}

// INBOX mode: delivered, then \Seen set on the remote, then maybe deleted.
func TestInboxChores(t *testing.T) {
	l, path := openTemp(t)
	copyBatches(t, l, "INBOX", 4, 1)
	wantUIDs(t, "pending seen", l.PendingSeen, 1, 2, 3, 4)
	if err := l.MarkSeen("INBOX", 7, []uint32{1, 2}); err != nil {
		t.Fatal(err)
	}
	if err := l.MarkDeleted("INBOX", 7, []uint32{2, 4}); err != nil {
		t.Fatal(err)
	}
	l = reopen(t, l, path)
	wantUIDs(t, "pending seen", l.PendingSeen, 3)
	wantUIDs(t, "deletable", l.Deletable, 1, 3)
	wantDone(t, l, "INBOX", 1, 2, 3, 4)
}

// Remote chores are only for messages the ledger shows as stored locally,
// all or nothing.
func TestChoresRefuseMessagesNotDone(t *testing.T) {
	l, _ := openTemp(t)
	copyBatches(t, l, "INBOX", 2, 2)
	for name, mark := range map[string]func(string, uint32, []uint32) error{
		"seen": l.MarkSeen, "deleted": l.MarkDeleted,
	} {
		if err := mark("INBOX", 7, []uint32{1, 3}); err == nil {
			t.Errorf("mark %s of uid 3 succeeded", name)
		}
		if err := mark("Other", 7, []uint32{1}); err == nil {
			t.Errorf("mark %s in an unknown folder succeeded", name)
		}
	}
	wantUIDs(t, "pending seen", l.PendingSeen, 1, 2)
	wantUIDs(t, "deletable", l.Deletable, 1, 2)
}

// After a UIDVALIDITY change the old mappings stay readable until the
// engine has re-adopted the local copies, and the new UIDVALIDITY starts
// empty.
func TestUIDValidityChange(t *testing.T) {
	l, _ := openTemp(t)
	copyBatches(t, l, "INBOX", 3, 3)
	if err := l.SetFolder("INBOX", 8, FolderState{LocalFolder: "INBOX"}); err != nil {
		t.Fatal(err)
	}
	stale := batch("INBOX", 10, 1) // open at the old UIDVALIDITY
	if _, err := l.Begin(stale); err != nil {
		t.Fatal(err)
	}
	if uvs, err := l.UIDValidities("INBOX"); !slices.Equal(uvs, []uint32{7, 8}) || err != nil {
		t.Fatalf("uidvalidities = %v, %v", uvs, err)
	}
	if done, err := l.Done("INBOX", 8); len(done) != 0 || err != nil {
		t.Errorf("new uidvalidity done = %v, %v", done, err)
	}
	old, err := l.Mappings("INBOX", 7)
	if err != nil || len(old) != 3 {
		t.Fatalf("old mappings = %v, %v", old, err)
	}
	if err := l.ForgetUIDValidity("INBOX", 7); err != nil {
		t.Fatal(err)
	}
	if uvs, err := l.UIDValidities("INBOX"); !slices.Equal(uvs, []uint32{8}) || err != nil {
		t.Errorf("uidvalidities after forget = %v, %v", uvs, err)
	}
	wantOpen(t, l)
}

func TestForgetFolder(t *testing.T) {
	l, _ := openTemp(t)
	copyBatches(t, l, "Gone", 3, 3)
	copyBatches(t, l, "Kept", 3, 3)
	for _, f := range []string{"Gone", "Kept"} {
		if _, err := l.Begin(batch(f, 10, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Forget("Gone"); err != nil {
		t.Fatal(err)
	}
	if err := l.Forget("Never there"); err != nil {
		t.Error(err)
	}
	wantDone(t, l, "Gone")
	wantDone(t, l, "Kept", 1, 2, 3)
	if open := wantOpen(t, l, 4); len(open) == 1 && open[0].Folder != "Kept" {
		t.Errorf("open intent of %s left", open[0].Folder)
	}
}

func TestStats(t *testing.T) {
	l, _ := openTemp(t)
	copyBatches(t, l, "INBOX", 5, 2)
	copyBatches(t, l, "Sent", 2, 2)
	if err := l.SetFolder("Sent", 7, FolderState{LocalFolder: "Sent"}); err != nil {
		t.Fatal(err)
	}
	if err := l.MarkDeleted("INBOX", 7, []uint32{1}); err != nil {
		t.Fatal(err)
	}
	got, err := l.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := []FolderStats{
		{Folder: "INBOX", UIDValidity: 7, Done: 5, Deleted: 1},
		{Folder: "Sent", UIDValidity: 7, LocalFolder: "Sent", Done: 2},
	}
	if !slices.Equal(got, want) {
		t.Errorf("stats = %+v, want %+v", got, want)
	}
}

func wantUIDs(t *testing.T, what string, list func(string, uint32) ([]uint32, error), want ...uint32) {
	t.Helper()
	got, err := list("INBOX", 7)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}
