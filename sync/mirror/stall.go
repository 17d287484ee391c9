package mirror

import (
	"context"
	"fmt"

	"github.com/mailpull/mailpull/sync/remote"
)

// Why a stall watchdog: go-imap waits for the first byte of a reply without
// a deadline, so a server that stops talking before its tagged answer would
// hold the run for ever. The watchdog closes the pair's connections once
// nothing has progressed for Config.Stall; the batch in flight stays an
// open intent, which the next run settles. It does not follow the run's
// context: a stop lets the message in flight finish, as before.

// watch arms the pair's watchdog.
func (p *pair) watch(ctx context.Context, cfg Config) {
	p.stall = cfg.Stall
	p.wd = remote.NewWatchdog(context.WithoutCancel(ctx), pairCloser{p}, cfg.Stall)
}

type pairCloser struct{ p *pair }

func (c pairCloser) Close() error { c.p.closeConns(); return nil }

// touch tells the watchdog that a server answered.
func (p *pair) touch() {
	if p.wd != nil {
		p.wd.Reset(p.stall)
	}
}

// stalled marks err as a timeout if the watchdog closed the connections.
func (p *pair) stalled(err error) error {
	if p.wd == nil || !p.wd.Stop() {
		return err
	}
	return fmt.Errorf("no answer within %v, connections closed: %w (%w)", p.stall, remote.ErrTimeout, err)
}
