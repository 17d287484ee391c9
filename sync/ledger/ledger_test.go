package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// open opens a ledger in a directory that does not exist yet.
func openTemp(t *testing.T) (*Ledger, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "a0241w.db")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, path
}

func reopen(t *testing.T, l *Ledger, path string) *Ledger {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	_, path := openTemp(t)
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700 | os.ModeDir} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("state dir holds %d entries, want only the ledger (temporary file left?)", len(entries))
	}
}

// bbolt's flock is per open file description, so a second open in the same
// process is refused just like one from another process.
func TestBusyInProcess(t *testing.T) {
	_, path := openTemp(t)
	start := time.Now()
	_, err := Open(path)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("second open: %v, want ErrBusy", err)
	}
	t.Logf("refused after %v: %v", time.Since(start).Round(time.Millisecond), err)
}

func TestBusyAcrossProcesses(t *testing.T) {
	_, path := openTemp(t)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "LEDGER_HELPER_OPEN="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "busy: ") {
		t.Fatalf("helper did not report ErrBusy:\n%s", out)
	}
}

// helperOpen is the other process of TestBusyAcrossProcesses.
func helperOpen(path string) error {
	l, err := Open(path)
	if errors.Is(err, ErrBusy) {
		os.Stdout.WriteString("busy: " + err.Error() + "\n")
		return nil
	}
	if err == nil {
		l.Close()
	}
	return fmt.Errorf("open: %v, want ErrBusy", err)
}

func TestReleasedOnClose(t *testing.T) {
	l, path := openTemp(t)
	reopen(t, l, path)
}

// Each damaged file must be refused with ErrDamaged and left exactly as it
// was: an empty ledger would make the engine copy everything again.
func TestDamagedFileRefusedAndUntouched(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"empty", func(t *testing.T, path string) { write(t, path, nil) }},
		{"garbage", func(t *testing.T, path string) { write(t, path, bytes.Repeat([]byte("mailpull"), 4096)) }},
		{"short garbage", func(t *testing.T, path string) { write(t, path, []byte("x")) }},
		{"truncated", func(t *testing.T, path string) { truncate(t, path, 2) }},
		{"meta pages only", func(t *testing.T, path string) { truncate(t, path, 8192) }},
		{"zeroed leaf page", func(t *testing.T, path string) { zeroPage(t, path, pageOfType(t, path, "leaf")) }},
		{"zeroed branch page", func(t *testing.T, path string) { zeroPage(t, path, pageOfType(t, path, "branch")) }},
		{"zeroed meta pages", func(t *testing.T, path string) { zeroPage(t, path, 0); zeroPage(t, path, 1) }},
		{"other bbolt file", func(t *testing.T, path string) { foreignBolt(t, path) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filledLedger(t)
			tt.damage(t, path)
			before := read(t, path)
			_, err := Open(path)
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("open: %v, want ErrDamaged", err)
			}
			if !bytes.Equal(read(t, path), before) {
				t.Error("open changed the damaged file")
			}
			t.Log(err)
		})
	}
}

func TestNewerLayoutRefused(t *testing.T) {
	l, path := openTemp(t)
	err := l.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyVersion, be32(version+1))
	})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	_, err = Open(path)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("open: %v, want a refusal of the newer layout", err)
	}
}

// filledLedger returns the path of a closed ledger with enough mappings to
// span several pages.
func filledLedger(t *testing.T) string {
	t.Helper()
	l, path := openTemp(t)
	copyBatches(t, l, "INBOX", 2000, 100)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// truncate cuts the file to size bytes, or to a fraction 1/size if small.
func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if size < 100 {
		fi, _ := os.Stat(path)
		size = fi.Size() / size
	}
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func zeroPage(t *testing.T, path string, page int) {
	t.Helper()
	b := read(t, path)
	clear(b[page*4096 : (page+1)*4096])
	write(t, path, b)
}

// pageOfType returns the last page of type typ that is in use.
func pageOfType(t *testing.T, path, typ string) int {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, PreLoadFreelist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	found := -1
	err = db.View(func(tx *bolt.Tx) error {
		for id := 2; int64(id)*4096 < tx.Size(); id++ {
			p, err := tx.Page(id)
			if err != nil {
				return err
			}
			if p != nil && p.Type == typ {
				found = id
			}
		}
		return nil
	})
	if err != nil || found < 0 {
		t.Fatalf("no %s page: %v", typ, err)
	}
	return found
}

func foreignBolt(t *testing.T, path string) {
	t.Helper()
	os.Remove(path)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte("something else"))
		return err
	})
	if err := errors.Join(err, db.Close()); err != nil {
		t.Fatal(err)
	}
}
