package units

import (
	"os"
	"slices"
	"testing"

	"github.com/mailpull/mailpull/task"
)

func TestTaskDropIn(t *testing.T) {
	tk := task.New()
	tk.ID = "abc123"
	if data, err := TaskDropIn(tk); data != nil || err != nil {
		t.Fatalf("a task without a CA file: %q, %v", data, err)
	}
	tk.TLSCA = "/etc/mailpull/100%.pem"
	data, err := TaskDropIn(tk)
	if err != nil {
		t.Fatal(err)
	}
	want := Header + "\n# Task abc123: \"mailpull task edit abc123\" changes it, \"mailpull task rm abc123\" removes it.\n" +
		"[Service]\nLoadCredential=tls-ca:/etc/mailpull/100%%.pem\n"
	if string(data) != want {
		t.Errorf("got\n%s\nwant\n%s", data, want)
	}
	tk.TLSCA = "/etc/x\nExecStartPre=/bin/sh"
	if data, err := TaskDropIn(tk); err == nil {
		t.Errorf("a newline went through:\n%s", data)
	}
}

// A task's drop-in is written, kept while unchanged, removed with its
// directory when the CA goes, and found as an orphan when the task does.
func TestTaskDropInLifecycle(t *testing.T) {
	m := &Manager{Dir: t.TempDir()}
	tk := task.New()
	tk.ID, tk.TLSCA = "abc123", "/etc/mailpull/ca.pem"
	for i, want := range []bool{true, false} {
		if changed, err := m.writeDropIn(tk); err != nil || changed != want {
			t.Fatalf("write %d: changed %v, %v; want %v", i, changed, err, want)
		}
	}
	if ids, _ := m.Orphans(map[string]bool{}); !slices.Equal(ids, []string{"abc123"}) {
		t.Errorf("orphans %q, want the task's drop-in", ids)
	}
	if ids, _ := m.Orphans(map[string]bool{"abc123": true}); len(ids) != 0 {
		t.Errorf("orphans of a known task: %q", ids)
	}
	tk.TLSCA = ""
	if changed, err := m.writeDropIn(tk); err != nil || !changed {
		t.Fatalf("removal: changed %v, %v", changed, err)
	}
	if entries, _ := os.ReadDir(m.Dir); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}
