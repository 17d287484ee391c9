package inbox

import (
	"strings"
	"testing"

	"github.com/mailpull/mailpull/internal/rig"
)

// big is a message larger than the 1 KiB quota of quotaConfig.
func big(subject string) rig.Message {
	m := mail(subject)
	m.Body = append(m.Body, []byte(strings.Repeat("a line that fills the mailbox\r\n", 100))...)
	return m
}

// quotaConfig gives LMTP deliveries a 1 KiB quota; extra is added to the
// global settings.
func quotaConfig(extra string) string {
	return extra + "protocol lmtp {\n  mail_plugins = $mail_plugins quota\n}\n" +
		"plugin {\n  quota = maildir:User quota\n  quota_rule = *:storage=1K\n}\n"
}

// untouched fails the test unless the remote INBOX is still unread and the
// ledger records nothing delivered and nothing open.
func (w *world) untouched(t *testing.T) {
	t.Helper()
	for subj, flags := range w.remoteFlags(t) {
		if seen(flags) {
			t.Errorf("remote %q was marked \\Seen", subj)
		}
	}
	uv := w.remoteUIDValidity(t)
	done, _ := w.cfg.Ledger.Done(Folder, uv)
	open, _ := w.cfg.Ledger.OpenIntents()
	if len(done) != 0 || len(open) != 0 {
		t.Errorf("ledger: done %v, open intents %v", done, open)
	}
}

// Dovecot answers an unknown recipient with 550 5.1.1: the run stops with
// ErrUnknownUser, naming the address, and leaves the remote as it was.
func TestUnknownLocalUserStopsTheRun(t *testing.T) {
	t.Parallel()
	w := newWorld(t, rig.LocalOptions{})
	w.cfg.Recipient = "nobody@example.org"
	w.remote.Put(t, "INBOX", mail("one"), mail("two"))
	_, err := Run(t.Context(), w.cfg)
	if !errorsIsAll(err, ErrUnknownUser) || !strings.Contains(err.Error(), "nobody@example.org") || !strings.Contains(err.Error(), "550") {
		t.Fatalf("run: %v, want ErrUnknownUser naming the address and the 550", err)
	}
	w.untouched(t)
}

// A full mailbox is a 552 5.2.2 at the end of DATA: the run stops with
// ErrQuota and leaves the remote as it was.
func TestFullMailboxStopsTheRun(t *testing.T) {
	t.Parallel()
	w := newWorld(t, rig.LocalOptions{Config: quotaConfig("")})
	w.remote.Put(t, "INBOX", big("one"), big("two"))
	_, err := Run(t.Context(), w.cfg)
	if !errorsIsAll(err, ErrQuota) || !strings.Contains(err.Error(), "552") {
		t.Fatalf("run: %v, want ErrQuota with the 552", err)
	}
	w.untouched(t)
	if n := len(w.local.Read(t, "alice")["INBOX"]); n != 0 {
		t.Fatalf("%d messages arrived in a full mailbox", n)
	}
}

// With quota_full_tempfail Dovecot answers a full mailbox with 452 4.2.2:
// each message is left for the next run, and the remote is untouched.
func TestDeferredMessagesStayForTheNextRun(t *testing.T) {
	t.Parallel()
	w := newWorld(t, rig.LocalOptions{Config: quotaConfig("quota_full_tempfail = yes\n")})
	w.remote.Put(t, "INBOX", big("one"), big("two"))
	sum, err := Run(t.Context(), w.cfg)
	if !errorsIsAll(err, ErrDeferred) || sum.Deferred != 2 || sum.Delivered != 0 {
		t.Fatalf("run: %v, summary %+v: want both deferred", err, sum)
	}
	w.untouched(t)
}
