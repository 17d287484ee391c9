package units

import (
	"context"
	"fmt"
	"time"
)

// State is what systemd knows of a task.
type State struct {
	TimerOn    bool      // the timer is active
	Running    bool      // a run is going on
	Status     string    // the run's own STATUS= line: its progress
	LastResult string    // "success", "exit-code", ... of the last run; empty if none
	ExitCode   int       // of the last run
	LastRun    time.Time // zero if never
	NextRun    time.Time // zero if none scheduled
}

// Start starts a run now and does not wait for its end.
func (m *Manager) Start(ctx context.Context, id string) error {
	if _, err := m.Conn.StartUnitContext(ctx, ServiceName(id), "replace", make(chan string, 1)); err != nil {
		return fmt.Errorf("start %s: %w", ServiceName(id), err)
	}
	return nil
}

// Stop stops a run and waits until it has ended; the run finishes or
// abandons its message in flight and leaves its ledger consistent.
func (m *Manager) Stop(ctx context.Context, id string) error {
	return m.job(ctx, ServiceName(id), m.Conn.StopUnitContext)
}

// State reads a task's units.
func (m *Manager) State(ctx context.Context, id string) (State, error) {
	var s State
	timer, err := m.Conn.GetUnitTypePropertiesContext(ctx, TimerName(id), "Timer")
	if err != nil {
		return s, fmt.Errorf("%s: %w", TimerName(id), err)
	}
	svcUnit, err := m.Conn.GetUnitPropertiesContext(ctx, ServiceName(id))
	if err != nil {
		return s, fmt.Errorf("%s: %w", ServiceName(id), err)
	}
	svc, err := m.Conn.GetUnitTypePropertiesContext(ctx, ServiceName(id), "Service")
	if err != nil {
		return s, fmt.Errorf("%s: %w", ServiceName(id), err)
	}
	tu, err := m.Conn.GetUnitPropertiesContext(ctx, TimerName(id))
	if err != nil {
		return s, fmt.Errorf("%s: %w", TimerName(id), err)
	}
	s.TimerOn = tu["ActiveState"] == "active"
	state := svcUnit["ActiveState"]
	s.Running = state == "activating" || state == "active" || state == "deactivating"
	s.Status, _ = svc["StatusText"].(string)
	s.LastResult, _ = svc["Result"].(string)
	code, _ := svc["ExecMainStatus"].(int32)
	s.ExitCode = int(code)
	// The last run is the service's, whether the timer or a "systemctl
	// start" began it; a service that never ran has no result.
	s.LastRun = usec(svc["ExecMainStartTimestamp"])
	s.NextRun = usec(timer["NextElapseUSecRealtime"])
	if s.LastRun.IsZero() {
		s.LastResult, s.ExitCode = "", 0
	}
	return s, nil
}

func usec(v any) time.Time {
	u, ok := v.(uint64)
	if !ok || u == 0 || u == ^uint64(0) {
		return time.Time{}
	}
	return time.UnixMicro(int64(u))
}
