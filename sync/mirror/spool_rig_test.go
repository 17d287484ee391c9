package mirror

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailpull/mailpull/internal/rig"
)

// big is a message of about size bytes, with lines as mail has them.
func big(i, size int) rig.Message {
	line := []byte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\r\n")
	body := bytes.Repeat(line, size/len(line))
	head := fmt.Sprintf("From: a@example.net\r\nMessage-ID: <big%d@example.net>\r\nSubject: big%d\r\n\r\n", i, i)
	return rig.Message{Flags: []imap.Flag{imap.FlagSeen}, Date: time.Date(2020, 5, i, 9, 0, 0, 0, time.UTC),
		Body: append([]byte(head), body...)}
}

// Messages from SpoolAbove on go through a spool file, fetched in ranges:
// one of a few ranges, one the size of exactly two ranges (whose last range
// comes back empty), and small ones beside them through the normal stream.
// All arrive byte for byte, once.
func TestLargeMessagesGoThroughTheSpoolOnDovecot(t *testing.T) {
	w := newRigWorld(t, rig.RemoteOptions{})
	const chunk = 64 << 10
	exact := big(2, 2*chunk)
	exact.Body = exact.Body[:2*chunk]
	w.remote.Put(t, "INBOX", big(1, 300<<10), exact, mail(3, time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)))
	w.remote.Put(t, "Work", big(4, 150<<10))
	cfg := w.config()
	cfg.SpoolAbove, cfg.SpoolChunk = 100<<10, chunk
	if sum := w.run(t, cfg); sum.Copied != 4 || len(sum.Failed) != 0 {
		t.Fatalf("run: %+v", sum)
	}
	w.same(t)
	if !w.wire.has(fmt.Sprintf("BODY.PEEK[]<%d.%d>", chunk, chunk)) {
		t.Error("no ranged fetch on the wire")
	}
	if sum := w.run(t, cfg); sum.Copied != 0 {
		t.Fatalf("re-run copied %d", sum.Copied)
	}
}
