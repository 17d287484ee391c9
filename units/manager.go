package units

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/coreos/go-systemd/v22/dbus"

	"github.com/mailpull/mailpull/internal/atomicfile"
	"github.com/mailpull/mailpull/task"
)

// Manager applies units through systemd's D-Bus API.
type Manager struct {
	Conn *dbus.Conn
	Dir  string // where the generated timers go, /etc/systemd/system
}

// ErrNoSystemd means there is no systemd to talk to: the tasks are saved
// but nothing schedules them.
var ErrNoSystemd = errors.New("systemd is not running here")

// Connect talks to the system's systemd.
func Connect(ctx context.Context, dir string) (*Manager, error) {
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		return nil, ErrNoSystemd
	}
	c, err := dbus.NewSystemConnectionContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("systemd: %w", err)
	}
	return &Manager{Conn: c, Dir: dir}, nil
}

// Close ends the D-Bus connection.
func (m *Manager) Close() { m.Conn.Close() }

// Apply brings the timers of tasks in line: written when they differ,
// one daemon-reload for the batch, then each timer enabled and started when
// on(task) says so, stopped and disabled otherwise. A manual task has no
// timer; an old one is removed. Systemd is asked for the state of all
// timers at once, and only the timers that must change are touched, so that
// a reconcile with nothing to do costs a few calls whatever the number of
// tasks.
func (m *Manager) Apply(ctx context.Context, tasks []task.Task, on func(task.Task) bool) error {
	changed, err := m.writeTimers(tasks)
	if err != nil {
		return err
	}
	if len(changed) > 0 {
		if err := m.Conn.ReloadContext(ctx); err != nil {
			return fmt.Errorf("systemd daemon-reload: %w", err)
		}
	}
	now, err := m.timers(ctx)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		sc, _ := task.ParseSchedule(t.Schedule)
		want := on(t) && !sc.Manual()
		if want == now[TimerName(t.ID)] && !changed[t.ID] {
			continue
		}
		if err := m.switchTimer(ctx, t.ID, want); err != nil {
			return err
		}
	}
	return nil
}

// timers reports, for every loaded mailpull timer, whether it is both
// active and enabled.
func (m *Manager) timers(ctx context.Context) (map[string]bool, error) {
	units, err := m.Conn.ListUnitsByPatternsContext(ctx, nil, []string{"mailpull-sync@*.timer"})
	if err != nil {
		return nil, fmt.Errorf("systemd: list timers: %w", err)
	}
	files, err := m.Conn.ListUnitFilesByPatternsContext(ctx, []string{"enabled"}, []string{"mailpull-sync@*.timer"})
	if err != nil {
		return nil, fmt.Errorf("systemd: list timer files: %w", err)
	}
	enabled := map[string]bool{}
	for _, f := range files {
		enabled[filepath.Base(f.Path)] = true
	}
	on := map[string]bool{}
	for _, u := range units {
		on[u.Name] = u.ActiveState == "active" && enabled[u.Name]
	}
	return on, nil
}

// writeTimers writes the timers whose content changed and returns the ids
// of the tasks whose file changed.
func (m *Manager) writeTimers(tasks []task.Task) (map[string]bool, error) {
	changed := map[string]bool{}
	for _, t := range tasks {
		data, err := Timer(t)
		if err != nil {
			return changed, fmt.Errorf("task %s: %w", t.ID, err)
		}
		path := filepath.Join(m.Dir, TimerName(t.ID))
		old, err := os.ReadFile(path)
		switch {
		case data == nil && err == nil:
			changed[t.ID] = true
			err = os.Remove(path)
		case data != nil && (err != nil || !bytes.Equal(old, data)):
			changed[t.ID] = true
			err = atomicfile.Write(path, data, 0o644)
		default:
			err = nil
		}
		if err != nil {
			return changed, fmt.Errorf("task %s: timer: %w", t.ID, err)
		}
	}
	return changed, nil
}

func (m *Manager) switchTimer(ctx context.Context, id string, on bool) error {
	name := TimerName(id)
	if !on {
		return m.stopTimer(ctx, name)
	}
	if _, _, err := m.Conn.EnableUnitFilesContext(ctx, []string{name}, false, true); err != nil {
		return fmt.Errorf("enable %s: %w", name, err)
	}
	return m.job(ctx, name, m.Conn.StartUnitContext)
}

func (m *Manager) stopTimer(ctx context.Context, name string) error {
	if err := m.job(ctx, name, m.Conn.StopUnitContext); err != nil && !isNoSuchUnit(err) {
		return err
	}
	if _, err := m.Conn.DisableUnitFilesContext(ctx, []string{name}, false); err != nil && !isNoSuchUnit(err) {
		return fmt.Errorf("disable %s: %w", name, err)
	}
	return nil
}

// job runs a start or stop job and waits for its end. The channel is
// buffered: an unread job channel blocks the whole connection.
func (m *Manager) job(ctx context.Context, name string, f func(context.Context, string, string, chan<- string) (int, error)) error {
	ch := make(chan string, 1)
	if _, err := f(ctx, name, "replace", ch); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	select {
	case res := <-ch:
		if res != "done" {
			return fmt.Errorf("%s: job %s", name, res)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func isNoSuchUnit(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "NoSuchUnit") || strings.Contains(err.Error(), "not loaded") ||
		strings.Contains(err.Error(), "does not exist"))
}

// Remove stops, disables and deletes the timers of the tasks.
func (m *Manager) Remove(ctx context.Context, ids []string) error {
	for _, id := range ids {
		if err := m.stopTimer(ctx, TimerName(id)); err != nil {
			return err
		}
		err := os.Remove(filepath.Join(m.Dir, TimerName(id)))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return m.Conn.ReloadContext(ctx)
}

// Orphans lists the ids of generated timers whose task is not in known.
func (m *Manager) Orphans(known map[string]bool) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(m.Dir, "mailpull-sync@*.timer"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range files {
		id := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "mailpull-sync@"), ".timer")
		if known[id] || !generated(f) {
			continue
		}
		out = append(out, id)
	}
	return out, nil
}

// generated reports whether mailpull wrote the file: an admin's own unit
// that happens to match the name is left alone.
func generated(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, len(Header))
	_, err = f.Read(head)
	return err == nil && string(head) == Header
}
