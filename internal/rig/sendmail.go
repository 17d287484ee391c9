package rig

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// sendmailConf points Dovecot's sendmail_path at a stand-in that keeps each
// message it is given (Sieve vacation replies, redirects) as a file, so a
// test can read what the server sent. Nothing leaves the machine.
func (l *Local) sendmailConf(t testing.TB, c *conf) {
	t.Helper()
	l.outbox = l.d.path("outbox")
	if err := os.Mkdir(l.outbox, 0o755); err != nil {
		t.Fatalf("rig: %v", err)
	}
	script := l.d.path("sendmail")
	text := "#!/bin/sh\n" +
		"# rig: keeps the message and its arguments instead of sending it\n" +
		"f=" + l.outbox + "/$(date +%s.%N).$$\n" +
		"{ printf 'X-Rig-Sendmail-Args: %s\\n' \"$*\"; cat; } > \"$f.tmp\" && mv \"$f.tmp\" \"$f.eml\"\n"
	if err := os.WriteFile(script, []byte(text), 0o755); err != nil {
		t.Fatalf("rig: %v", err)
	}
	Chown(t, l.outbox)
	c.set("sendmail_path", script)
}

// Sent returns the messages the server handed to sendmail, oldest first,
// each preceded by an X-Rig-Sendmail-Args line with the command's
// arguments. It needs LocalOptions.Sendmail.
func (l *Local) Sent(t testing.TB) []string {
	t.Helper()
	if l.outbox == "" {
		t.Fatal("rig: Sent needs LocalOptions.Sendmail")
	}
	files, err := filepath.Glob(filepath.Join(l.outbox, "*.eml"))
	if err != nil {
		t.Fatalf("rig: %v", err)
	}
	slices.Sort(files)
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("rig: %v", err)
		}
		out = append(out, string(b))
	}
	return out
}
