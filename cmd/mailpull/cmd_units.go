package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/mailpull/mailpull/task"
	"github.com/mailpull/mailpull/units"
)

// applyUnits puts a saved task's timer in place. Without systemd the task is
// saved all the same, and the admin is told, unless the task is manual: it
// has no timer, so nothing is missing.
func (te taskEnv) applyUnits(ctx context.Context, e *env, t task.Task) error {
	sc, _ := task.ParseSchedule(t.Schedule)
	return te.withUnits(ctx, e, t.ID, sc.Manual(), func(m *units.Manager) error {
		return m.Apply(ctx, []task.Task{t}, func(task.Task) bool { return true })
	})
}

// removeUnits stops and removes a deleted task's timer.
func (te taskEnv) removeUnits(ctx context.Context, e *env, id string) error {
	return te.withUnits(ctx, e, id, false, func(m *units.Manager) error { return m.Remove(ctx, []string{id}) })
}

func (te taskEnv) withUnits(ctx context.Context, e *env, id string, quiet bool, f func(*units.Manager) error) error {
	m, err := units.Connect(ctx, te.cfg.Systemd.UnitDir)
	if errors.Is(err, units.ErrNoSystemd) && quiet {
		return nil
	}
	if errors.Is(err, units.ErrNoSystemd) {
		fmt.Fprintf(e.stderr, "mailpull: task %s: systemd is not running here, so no timer was applied; "+
			"run \"mailpull task edit %s\" under systemd, or start the daemon, to apply it\n", id, id)
		return nil
	}
	if err != nil {
		return err
	}
	defer m.Close()
	if err := f(m); err != nil {
		return fmt.Errorf("task %s: units: %w", id, err)
	}
	return nil
}
