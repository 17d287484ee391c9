package inbox

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/mailpull/mailpull/internal/rig"
	"github.com/mailpull/mailpull/sync/ledger"
	"github.com/mailpull/mailpull/task"
)

// The same INBOX delivered over the unix socket and over TCP, by two tasks
// with their own ledgers. A Nagle stall around the final dot costs ~40 ms
// a message (fetchmail over TCP: 18 msgs/s); here TCP must keep up with
// the socket, and neither may spend 20 ms a message. Each transport runs
// twice, alternating, since the first run also warms the server up.
func TestLMTPThroughputUnixAndTCP(t *testing.T) {
	t.Parallel()
	const n = 400
	w := newWorld(t, rig.LocalOptions{})
	w.cfg.Task.FirstRun = task.FirstRunAll
	var msgs []rig.Message
	for i := range n {
		msgs = append(msgs, mail(fmt.Sprintf("message %d", i)))
	}
	w.remote.Put(t, "INBOX", msgs...)
	rates := map[string]float64{}
	for i, c := range []struct {
		transport string
		dial      ctxDial
	}{{"tcp", w.tcpLMTP}, {"unix", w.unixLMTP}, {"tcp", w.tcpLMTP}, {"unix", w.unixLMTP}} {
		transport := c.transport
		cfg := w.cfg
		cfg.Task.ID, cfg.LMTP = fmt.Sprintf("tput%02d", i), c.dial
		l, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		cfg.Ledger = l
		start := time.Now()
		sum, err := Run(t.Context(), cfg)
		d := time.Since(start)
		if err != nil || sum.Delivered != n {
			t.Fatalf("%s: %v, %+v", transport, err, sum)
		}
		rate := n / d.Seconds()
		rates[transport] = max(rates[transport], rate)
		t.Logf("LMTP over %s: %d messages in %v, %.0f msgs/s", transport, n, d.Round(time.Millisecond), rate)
		if per := d / n; per > 20*time.Millisecond {
			t.Errorf("%s: %v a message: a stall per message", transport, per)
		}
	}
	if rates["tcp"] < rates["unix"]/2 {
		t.Errorf("TCP %.0f msgs/s against %.0f over the socket", rates["tcp"], rates["unix"])
	}
}
