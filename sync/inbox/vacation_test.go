package inbox

import (
	"os"
	"strings"
	"testing"

	"github.com/mailpull/mailpull/internal/rig"
)

// docSettings returns the Dovecot settings docs/inbox-mode.md tells admins
// to add, so that the test proves the document, not a copy of it.
func docSettings(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../docs/inbox-mode.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```dovecot\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 || !strings.Contains(block, "X-Original-To") {
		t.Fatal("docs/inbox-mode.md has no dovecot block with the vacation settings")
	}
	return block
}

const vacationScript = `require "vacation";
vacation :days 1 :subject "Away" "I am away until Monday.";
`

// Sieve vacation answers an imported message once the documented settings
// are on, and only then: without them, Pigeonhole sees a message addressed
// to someone else and stays silent.
func TestVacationAnswersImportedMail(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		config  string
		replies int
	}{
		{"documented settings", docSettings(t), 1},
		{"stock settings", "", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, rig.LocalOptions{Sendmail: true, Config: c.config})
			w.local.SetSieve(t, "alice", vacationScript)
			w.remote.Put(t, "INBOX", mail("are you there"))
			if sum := w.run(t, nil); sum.Delivered != 1 {
				t.Fatalf("summary %+v", sum)
			}
			sent := w.local.Sent(t)
			if len(sent) != c.replies {
				t.Fatalf("%d messages sent, want %d: %q", len(sent), c.replies, sent)
			}
			if c.replies == 1 && (!strings.Contains(sent[0], "friend@example.net") || !strings.Contains(sent[0], "Subject: Away")) {
				t.Fatalf("the reply is not a vacation answer to the sender:\n%s", sent[0])
			}
		})
	}
}
