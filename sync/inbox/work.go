package inbox

import (
	"context"
	"fmt"

	"github.com/emersion/go-imap/v2"
)

// session opens the remote account and selects its INBOX, for writing since
// the run sets \Seen and may expunge (read-only on a dry run).
func (r *run) session(ctx context.Context) error {
	c, err := r.cfg.Remote(ctx)
	if err != nil {
		return err
	}
	r.remote = c
	r.watch(ctx)
	sel, err := c.Select(Folder, &imap.SelectOptions{ReadOnly: r.cfg.DryRun}).Wait()
	if err != nil {
		return fmt.Errorf("select remote %s: %w", Folder, err)
	}
	r.uidvalidity, r.uidnext = sel.UIDValidity, uint32(sel.UIDNext)
	return nil
}

// work settles what a dead run left open, pays the \Seen flags still owed,
// delivers what is new, and deletes on the remote what the task says to.
func (r *run) work(ctx context.Context) error {
	if err := r.settle(ctx); err != nil {
		return err
	}
	if err := r.markSeen(); err != nil {
		return err
	}
	todo, err := r.todo()
	if err != nil {
		return err
	}
	if r.cfg.DryRun {
		r.cfg.Log.Info("would deliver", "messages", len(todo))
		r.sum.Delivered = len(todo)
		return nil
	}
	r.total = len(todo)
	if err := r.deliverAll(ctx, todo); err != nil {
		return err
	}
	return r.deleteRemote()
}

// deliverAll delivers todo in batches, one intent each. A refusal that
// concerns the whole account (unknown user, full mailbox) ends the run once
// its batch is settled; so does a broken connection, whose batch stays open
// for the next run to settle.
func (r *run) deliverAll(ctx context.Context, todo []imap.UID) error {
	for start := 0; start < len(todo); start += r.cfg.Batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min(start+r.cfg.Batch, len(todo))
		if err := r.batch(ctx, todo[start:end]); err != nil {
			return err
		}
	}
	return nil
}
