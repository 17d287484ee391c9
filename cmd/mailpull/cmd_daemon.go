package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/mailpull/mailpull/task"
	"github.com/mailpull/mailpull/units"
)

func runDaemon(ctx context.Context, e *env, args []string) error {
	fs := newFlags("daemon")
	every := fs.Duration("interval", 5*time.Minute, "reconcile at least this often")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	cfg, _, err := e.config()
	if err != nil {
		return err
	}
	mgr, err := units.Connect(ctx, cfg.Systemd.UnitDir)
	if err != nil {
		return &exitError{code: ExitUnavailable, err: err}
	}
	defer mgr.Close()
	r := &reconciler{cfg: cfg, store: task.Store{Dir: cfg.TasksDir}, mgr: mgr, log: e.log, paused: map[string]bool{}}
	return r.loop(ctx, *every)
}

// loop reconciles at start, every interval, on SIGHUP and when the tasks
// directory changes, and pings the watchdog meanwhile.
func (r *reconciler) loop(ctx context.Context, every time.Duration) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	tick := time.NewTicker(every)
	defer tick.Stop()
	poll := time.NewTicker(5 * time.Second)
	defer poll.Stop()
	go r.watchdog(ctx)
	mark := dirMark(r.store.Dir)
	r.once(ctx, true)
	for {
		select {
		case <-ctx.Done():
			daemon.SdNotify(false, daemon.SdNotifyStopping)
			return nil
		case <-hup:
			r.log.Info("reconcile on SIGHUP")
		case <-tick.C:
		case <-poll.C:
			if m := dirMark(r.store.Dir); m != mark {
				mark = m
				r.log.Info("tasks changed")
			} else {
				continue
			}
		}
		r.once(ctx, false)
	}
}

// reconcileTimeout bounds one reconcile. The first one after thousands of
// tasks were added starts thousands of timers, which takes systemd a few
// minutes on a busy machine; a reconcile cut short is taken up by the next.
const reconcileTimeout = 10 * time.Minute

// once reconciles with a deadline, so that a stuck directory or systemd
// never stalls the loop, and tells systemd how things stand.
func (r *reconciler) once(ctx context.Context, first bool) {
	ctx, cancel := context.WithTimeout(ctx, reconcileTimeout)
	defer cancel()
	r.busy.Store(time.Now().UnixNano())
	defer r.busy.Store(0)
	s, err := r.run(ctx)
	status := fmt.Sprintf("STATUS=%d tasks, %d timers on, directory %s", s.tasks, s.on, map[bool]string{true: "ok", false: "unavailable"}[r.dirOK])
	if err != nil {
		r.log.Error("reconcile failed", "err", err)
		status = "STATUS=reconcile failed: " + oneLine(err)
	} else {
		r.log.Info("reconciled", "tasks", s.tasks, "timers_on", s.on, "took", s.took.Round(time.Millisecond))
	}
	if first {
		status += "\n" + daemon.SdNotifyReady
	}
	daemon.SdNotify(false, status)
}

// watchdog pings systemd's watchdog at half the interval it asks for, from
// its own goroutine, since a reconcile may outlast the interval; but not
// when a reconcile has outlived its own deadline: the loop is stuck, and
// systemd restarts the daemon.
func (r *reconciler) watchdog(ctx context.Context) {
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil || d == 0 {
		return
	}
	tick := time.NewTicker(d / 2)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if since := r.busy.Load(); since != 0 && time.Since(time.Unix(0, since)) > reconcileTimeout+time.Minute {
			continue
		}
		daemon.SdNotify(false, daemon.SdNotifyWatchdog)
	}
}

// dirMark changes when a task file is added, removed or rewritten (all of
// which renames into the directory, changing its modification time).
func dirMark(dir string) time.Time {
	fi, err := os.Stat(dir)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}
