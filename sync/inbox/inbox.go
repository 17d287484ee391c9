// Package inbox is INBOX retrieval mode: new messages of the remote INBOX
// are delivered to the local user, through Dovecot's LMTP so that the user's
// Sieve script runs, or by APPEND into the local INBOX when Sieve is off;
// then they are marked \Seen on the remote.
//
// The ledger, not the remote \Seen flag, says what was delivered: every new
// UID is delivered, read or not, and a delivered message is never fetched
// again, wherever the user moved it. Each batch is recorded as an intent
// before its first delivery; every delivered copy carries an
// X-Mailpull-Origin header (task/uidvalidity/uid), by which a later run finds
// the copies a dead run delivered without committing them.
package inbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/sync/ledger"
	"github.com/mailpull/mailpull/sync/remote"
	"github.com/mailpull/mailpull/task"
)

// Folder is the remote folder this mode reads, and its ledger key.
const Folder = "INBOX"

// OriginHeader names the header that ties a local copy to its remote
// message.
const OriginHeader = "X-Mailpull-Origin"

// Dialer opens a logged-in IMAP connection.
type Dialer func(ctx context.Context) (*imapclient.Client, error)

// Config is one run.
type Config struct {
	Task   task.Task
	Remote Dialer // the remote account
	Local  Dialer // the local account, through the master user
	// LMTP connects to Dovecot's LMTP service (Sieve on); nil with Sieve off.
	LMTP func(ctx context.Context) (net.Conn, error)
	// Recipient is the local user's address, the RCPT TO of each delivery.
	Recipient string
	// OriginalTo is the remote address, written as X-Original-To so that
	// Sieve vacation can tell the message was addressed to the user.
	OriginalTo string
	Ledger     *ledger.Ledger
	Batch      int  // messages per intent; default 100
	DryRun     bool // report what would be delivered, change nothing
	Log        *slog.Logger
	Now        func() time.Time // for older-than; default time.Now
	// Progress, if set, is told after each delivery how many of the run's
	// new messages have been delivered.
	Progress func(delivered, total int)
	// Stall is how long the run may wait on the remote or local IMAP server
	// without any answer before a watchdog closes the connections (default
	// 5 minutes): go-imap waits for a reply's first byte without a deadline.
	Stall time.Duration
}

// Summary is what a run did.
type Summary struct {
	Delivered     int // delivered now
	Recovered     int // found delivered by a run that died before recording it
	Skipped       int // already delivered by an earlier run
	SeenSet       int // remote messages marked \Seen
	DeletedRemote int
	Deferred      int // refused for now (LMTP 4xx): left for the next run
	Failed        []Failure
}

// Failure is one message that could not be delivered; the run goes on.
type Failure struct {
	UID uint32
	Err error
}

func (f Failure) Error() string { return fmt.Sprintf("%s UID %d: %v", Folder, f.UID, f.Err) }

// The errors a run ends with, besides connection failures.
var (
	// ErrPartial: some messages failed for good; the others are delivered.
	ErrPartial = errors.New("some messages were not delivered")
	// ErrDeferred: the local server refused some messages for now (4xx).
	ErrDeferred = errors.New("the local server deferred some messages; they stay for the next run")
	// ErrUnknownUser: the local server does not know the recipient.
	ErrUnknownUser = errors.New("the local server does not know the recipient")
	// ErrQuota: the local mailbox is full.
	ErrQuota = errors.New("the local mailbox is full")
	// ErrUnavailable: the local delivery service cannot be reached.
	ErrUnavailable = errors.New("local delivery unavailable")
)

// Run delivers the new messages of the remote INBOX. A nil error means every
// message in scope is delivered and marked \Seen.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	cfg.defaults()
	r := &run{cfg: cfg, sum: &Summary{}}
	defer r.close()
	if err := r.session(ctx); err != nil {
		return r.sum, r.classify(err)
	}
	if err := r.work(ctx); err != nil {
		return r.sum, r.classify(err)
	}
	switch {
	case r.sum.Deferred > 0:
		return r.sum, ErrDeferred
	case len(r.sum.Failed) > 0:
		return r.sum, ErrPartial
	}
	return r.sum, nil
}

func (c *Config) defaults() {
	if c.Batch <= 0 {
		c.Batch = 100
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Stall <= 0 {
		c.Stall = 5 * time.Minute
	}
}

// run is the state of one Run.
type run struct {
	cfg                Config
	sum                *Summary
	remote             *imapclient.Client
	local              *imapclient.Client // opened when needed
	uidvalidity        uint32
	uidnext            uint32
	uidvalidityChanged bool
	out                deliverer // opened at the first delivery
	wd                 *remote.Watchdog
	cuts               remote.Cuts // reconnections after a message broke the remote connection
	total              int         // new messages this run delivers
	buf                []byte      // a message read ahead (see readAhead)
}

func (r *run) fail(uid uint32, err error) {
	r.cfg.Log.Warn("delivery failed", "uid", uid, "err", err)
	r.sum.Failed = append(r.sum.Failed, Failure{uid, err})
}

func (r *run) close() {
	if r.wd != nil {
		r.wd.Stop()
	}
	if r.out != nil {
		r.out.close()
	}
	for _, c := range []*imapclient.Client{r.remote, r.local} {
		if c != nil {
			c.Close()
		}
	}
}

// localClient opens the master login to the local account on first use.
func (r *run) localClient(ctx context.Context) (*imapclient.Client, error) {
	if r.local != nil {
		return r.local, nil
	}
	c, err := r.cfg.Local(ctx)
	if err != nil {
		return nil, err
	}
	r.local = c
	return c, nil
}

// Origin is the X-Mailpull-Origin value of a remote message.
func Origin(taskID string, uidvalidity, uid uint32) string {
	return fmt.Sprintf("%s/%d/%d", taskID, uidvalidity, uid)
}
