package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/mailpull/mailpull/ldapusers"
	"github.com/mailpull/mailpull/task"
	"github.com/mailpull/mailpull/units"
)

// reconciler keeps every task's timer in step with its user: on while the
// user is one LDAP selects and enabled, off (task, credential and ledger
// kept) otherwise. The directory's last good answer is kept, so that a slow
// or dead directory pauses nothing.
type reconciler struct {
	cfg    Config
	store  task.Store
	mgr    *units.Manager
	log    *slog.Logger
	users  map[string]bool // login → enabled, from the last good listing
	dirOK  bool
	paused map[string]bool // task id → paused for its user, as last logged
	busy   atomic.Int64    // when the reconcile under way began (Unix ns), 0 between them
}

// summary is what a reconcile found, for the daemon's STATUS= line.
type summary struct {
	tasks, on int
	took      time.Duration
}

func (r *reconciler) run(ctx context.Context) (summary, error) {
	start := time.Now()
	tasks, err := r.store.List()
	if err != nil {
		r.log.Warn("some task files could not be read", "err", err)
	}
	r.refreshUsers(ctx)
	on := 0
	active := func(t task.Task) bool {
		ok := r.userActive(t.LocalUser)
		r.note(t, ok)
		if ok {
			on++
		}
		return ok
	}
	if err := r.mgr.Apply(ctx, tasks, active); err != nil {
		return summary{}, err
	}
	if err := r.removeOrphans(ctx, tasks); err != nil {
		return summary{}, err
	}
	return summary{tasks: len(tasks), on: on, took: time.Since(start)}, nil
}

// refreshUsers lists the directory's users with a timeout; on failure the
// last good listing stays.
func (r *reconciler) refreshUsers(ctx context.Context) {
	if r.cfg.LDAP == nil {
		r.dirOK = true
		return
	}
	dir, err := r.cfg.LDAP.directory(r.cfg.CredentialsDir)
	if err == nil {
		var all []ldapusers.User
		if all, err = ldapusers.ListAll(ctx, dir); err == nil {
			r.users = map[string]bool{}
			for _, u := range all {
				r.users[u.Login] = !u.Disabled
			}
		}
	}
	if err != nil {
		r.log.Warn("directory unavailable; keeping the last good list of users", "err", err)
	}
	r.dirOK = err == nil
}

// userActive: without LDAP every task runs; with it, only those of users
// the filter selects and that are enabled. Before any good listing nothing
// is paused.
func (r *reconciler) userActive(login string) bool {
	if r.cfg.LDAP == nil || r.users == nil {
		return true
	}
	return r.users[login]
}

// note logs a task's change between paused and active.
func (r *reconciler) note(t task.Task, active bool) {
	was, seen := r.paused[t.ID]
	if seen && was == !active {
		return
	}
	r.paused[t.ID] = !active
	if !active {
		r.log.Info("task paused: its local user is gone or disabled; task, credential and ledger are kept",
			"task", t.ID, "user", t.LocalUser)
	} else if seen {
		r.log.Info("task resumed: its local user is back", "task", t.ID, "user", t.LocalUser)
	}
}

func (r *reconciler) removeOrphans(ctx context.Context, tasks []task.Task) error {
	known := map[string]bool{}
	for _, t := range tasks {
		known[t.ID] = true
	}
	orphans, err := r.mgr.Orphans(known)
	if err != nil || len(orphans) == 0 {
		return err
	}
	r.log.Info("removing the timers of deleted tasks", "tasks", fmt.Sprint(orphans))
	return r.mgr.Remove(ctx, orphans)
}
