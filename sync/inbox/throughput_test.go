package inbox

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mailpull/mailpull/internal/rig"
	"github.com/mailpull/mailpull/sync/ledger"
	"github.com/mailpull/mailpull/task"
)

// writeLog records the writes on a connection.
type writeLog struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (w *writeLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes = append(w.writes, bytes.Clone(p))
	w.mu.Unlock()
	return w.Conn.Write(p)
}

// A final dot sent on its own, after the body, is what costs a TCP client
// ~40 ms a message (Nagle's algorithm holding it until the delayed ACK of
// the body): fetchmail over TCP did 18 msgs/s. Here every message's final
// dot leaves in the same write as the end of its body, over TCP and over the
// unix socket. The rates are logged for the record; make bench compares
// them with other tools.
func TestFinalDotTravelsWithTheBody(t *testing.T) {
	t.Parallel()
	const n = 200
	w := newWorld(t, rig.LocalOptions{})
	w.cfg.Task.FirstRun = task.FirstRunAll
	var msgs []rig.Message
	for i := range n {
		msgs = append(msgs, mail(fmt.Sprintf("message %d", i)))
	}
	w.remote.Put(t, "INBOX", msgs...)
	for i, c := range []struct {
		transport string
		dial      ctxDial
	}{{"tcp", w.tcpLMTP}, {"unix", w.unixLMTP}} {
		var log *writeLog
		cfg := w.cfg
		cfg.Task.ID = fmt.Sprintf("tput%02d", i)
		cfg.LMTP = func(ctx context.Context) (net.Conn, error) {
			conn, err := c.dial(ctx)
			if err == nil {
				log = &writeLog{Conn: conn}
				return log, nil
			}
			return nil, err
		}
		l, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		cfg.Ledger = l
		start := time.Now()
		sum, err := Run(t.Context(), cfg)
		if err != nil || sum.Delivered != n {
			t.Fatalf("%s: %v, %+v", c.transport, err, sum)
		}
		t.Logf("LMTP over %s: %d messages at %.0f msgs/s", c.transport, n, n/time.Since(start).Seconds())
		checkDots(t, c.transport, log.writes, n)
	}
}

func checkDots(t *testing.T, transport string, writes [][]byte, n int) {
	t.Helper()
	ends := 0
	for _, w := range writes {
		if bytes.Equal(w, []byte(".\r\n")) {
			t.Fatalf("%s: a final dot was written on its own", transport)
		}
		if bytes.HasSuffix(w, []byte("\r\n.\r\n")) {
			ends++
		}
	}
	if ends != n {
		t.Errorf("%s: %d writes end a message body with its final dot, want %d", transport, ends, n)
	}
}
