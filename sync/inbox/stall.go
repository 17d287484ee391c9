package inbox

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/sync/remote"
)

// watch arms the stall watchdog over the run's IMAP connections. It does
// not follow ctx: a stop lets the message in flight finish, as before.
func (r *run) watch(ctx context.Context) {
	r.wd = remote.NewWatchdog(context.WithoutCancel(ctx), closer(r.closeIMAP), r.cfg.Stall)
}

type closer func()

func (c closer) Close() error { c(); return nil }

func (r *run) closeIMAP() {
	for _, c := range []*imapclient.Client{r.remote, r.local} {
		if c != nil {
			c.Close()
		}
	}
}

// touch tells the watchdog that a server answered.
func (r *run) touch() {
	if r.wd != nil {
		r.wd.Reset(r.cfg.Stall)
	}
}

// touchReader touches the watchdog at every read of a body, so that a
// large message that keeps arriving is not taken for a stall.
type touchReader struct {
	r     io.Reader
	touch func()
}

func (t touchReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.touch()
	return n, err
}

// classify marks how a run ended: a stall the watchdog broke is a timeout,
// and a connection that broke otherwise a temporary failure (the open
// intent is settled by the next run); what the run classified itself, or a
// server's answer, stays as it is.
func (r *run) classify(err error) error {
	if r.wd != nil && r.wd.Stop() {
		return fmt.Errorf("no answer within %v, connections closed: %w (%w)", r.cfg.Stall, remote.ErrTimeout, err)
	}
	for _, own := range []error{ErrUnknownUser, ErrQuota, ErrUnavailable, ErrDeferred, ErrPartial,
		remote.ErrTemporary, remote.ErrTimeout} {
		if errors.Is(err, own) {
			return err
		}
	}
	var ie *imap.Error
	if !errors.As(err, &ie) && (gone(r.remote) || gone(r.local)) {
		return remote.Temporary(err)
	}
	return err
}

// gone reports whether c was opened and its connection has ended.
func gone(c *imapclient.Client) bool {
	if c == nil {
		return false
	}
	select {
	case <-c.Closed():
		return true
	default:
		return c.State() == imap.ConnStateLogout
	}
}
