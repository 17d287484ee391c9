package remote

import (
	"context"
	"io"
	"sync/atomic"
	"time"
)

// Watchdog closes a connection when a context ends or a deadline passes.
// go-imap takes no context and some of its waits have no deadline; closing
// the connection is what makes every pending command return.
type Watchdog struct {
	timer *time.Timer
	stop  chan struct{}
	fired atomic.Bool
}

// NewWatchdog closes c after d, or when ctx is done, unless stopped first.
func NewWatchdog(ctx context.Context, c io.Closer, d time.Duration) *Watchdog {
	w := &Watchdog{stop: make(chan struct{})}
	fire := func() {
		if w.fired.CompareAndSwap(false, true) {
			c.Close()
		}
	}
	w.timer = time.AfterFunc(d, fire)
	go func() {
		select {
		case <-ctx.Done():
			fire()
		case <-w.stop:
		}
	}()
	return w
}

// Reset pushes the deadline to d from now, as long as work progresses.
func (w *Watchdog) Reset(d time.Duration) { w.timer.Reset(d) }

// Stop disarms the watchdog and reports whether it had fired.
func (w *Watchdog) Stop() bool {
	w.timer.Stop()
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	return w.fired.Load()
}
