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
	"syscall"

	"github.com/coreos/go-systemd/v22/dbus"

	"github.com/mailpull/mailpull/internal/atomicfile"
	"github.com/mailpull/mailpull/task"
)

// Manager applies units through systemd's D-Bus API.
type Manager struct {
	Conn *dbus.Conn
	Dir  string // where the generated timers go, /etc/systemd/system

	reloadNeeded bool // a drop-in changed since the last reload
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

// Apply brings the timers of tasks in line: written when they differ, then
// each timer enabled and started when on(task) says so, stopped and disabled
// otherwise. A manual task has no timer; an old one is removed. Systemd is
// asked for the state of all timers at once, and only the timers that must
// change are touched, so that a reconcile with nothing to do costs a few
// calls whatever the number of tasks.
//
// What systemd makes slow with thousands of units is avoided: enabling is
// the timers.target.wants/ link that "systemctl enable" would make, written
// here (systemd's own EnableUnitFiles and ListUnitFiles take several
// milliseconds per unit file in the directory, and block PID 1 meanwhile);
// and daemon-reload, which re-reads every loaded unit, happens only when a
// timer that systemd has loaded changed on disk: a new timer is read when it
// is started.
func (m *Manager) Apply(ctx context.Context, tasks []task.Task, on func(task.Task) bool) error {
	loaded, err := m.loaded(ctx)
	if err != nil {
		return err
	}
	enabled, err := m.enabled()
	if err != nil {
		return err
	}
	changed, err := m.writeTimers(tasks)
	if err != nil {
		return err
	}
	var start, stop []string
	reload := false
	for _, t := range tasks {
		sc, _ := task.ParseSchedule(t.Schedule)
		want := on(t) && !sc.Manual()
		name := TimerName(t.ID)
		active, isLoaded := loaded[name]
		reload = reload || changed[t.ID] && isLoaded
		switch {
		case want == (active && enabled[name]) && !changed[t.ID]:
		case want:
			start = append(start, name)
		default:
			stop = append(stop, name)
		}
	}
	if err := m.stopTimers(ctx, stop); err != nil {
		return err
	}
	// A changed drop-in applies to a service systemd may have loaded
	// without its timer (a manual run): it always needs a reload.
	if reload || m.reloadNeeded {
		m.reloadNeeded = false
		if err := m.Conn.ReloadContext(ctx); err != nil {
			return fmt.Errorf("systemd daemon-reload: %w", err)
		}
	}
	return m.startTimers(ctx, start)
}

// loaded reports, for every mailpull timer systemd has loaded from a file,
// whether it is active.
func (m *Manager) loaded(ctx context.Context) (map[string]bool, error) {
	units, err := m.Conn.ListUnitsByPatternsContext(ctx, nil, []string{"mailpull-sync@*.timer"})
	if err != nil {
		return nil, fmt.Errorf("systemd: list timers: %w", err)
	}
	out := map[string]bool{}
	for _, u := range units {
		if u.LoadState == "loaded" {
			out[u.Name] = u.ActiveState == "active"
		}
	}
	return out, nil
}

// wants is the directory of the links that enable timers
// (WantedBy=timers.target).
func (m *Manager) wants() string { return filepath.Join(m.Dir, "timers.target.wants") }

// enabled lists the mailpull timers linked from timers.target.wants/.
func (m *Manager) enabled() (map[string]bool, error) {
	entries, err := os.ReadDir(m.wants())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("systemd: enabled timers: %w", err)
	}
	out := map[string]bool{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "mailpull-sync@") {
			out[e.Name()] = true
		}
	}
	return out, nil
}

// enable links a timer from timers.target.wants/, as "systemctl enable"
// does, so that it starts at boot.
func (m *Manager) enable(name string) error {
	link := filepath.Join(m.wants(), name)
	target := filepath.Join(m.Dir, name)
	if old, err := os.Readlink(link); err == nil && old == target {
		return nil
	}
	if err := os.MkdirAll(m.wants(), 0o755); err != nil {
		return err
	}
	tmp := link + ".new"
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, link)
}

// disable removes a timer's link.
func (m *Manager) disable(name string) error {
	err := os.Remove(filepath.Join(m.wants(), name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
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
		timer, err := putFile(filepath.Join(m.Dir, TimerName(t.ID)), data)
		if err != nil {
			return changed, fmt.Errorf("task %s: timer: %w", t.ID, err)
		}
		if timer {
			changed[t.ID] = true
		}
		dropIn, err := m.writeDropIn(t)
		if err != nil {
			return changed, fmt.Errorf("task %s: drop-in: %w", t.ID, err)
		}
		if dropIn {
			changed[t.ID], m.reloadNeeded = true, true
		}
	}
	return changed, nil
}

// writeDropIn writes, replaces or removes the drop-in of a task's service
// and reports whether it changed.
func (m *Manager) writeDropIn(t task.Task) (bool, error) {
	data, err := TaskDropIn(t)
	if err != nil {
		return false, err
	}
	path := TaskDropInPath(m.Dir, t.ID)
	changed, err := putFile(path, data)
	if changed && err == nil && data == nil {
		err = removeDropIn(path) // its directory, now empty
	}
	return changed, err
}

// putFile makes path hold data, or removes it when data is nil, and
// reports whether that changed anything.
func putFile(path string, data []byte) (bool, error) {
	old, err := os.ReadFile(path)
	switch {
	case data == nil && err == nil:
		return true, os.Remove(path)
	case data == nil || (err == nil && bytes.Equal(old, data)):
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, err
	}
	return true, atomicfile.Write(path, data, 0o644)
}

// removeDropIn deletes a drop-in, and its directory once empty.
func removeDropIn(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Remove(filepath.Dir(path)); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTEMPTY) {
		return err
	}
	return nil
}

// startTimers enables the timers, then starts them, every job queued
// before the first is waited for.
func (m *Manager) startTimers(ctx context.Context, names []string) error {
	for _, name := range names {
		if err := m.enable(name); err != nil {
			return fmt.Errorf("enable %s: %w", name, err)
		}
	}
	return m.jobs(ctx, names, m.Conn.StartUnitContext, false)
}

// stopTimers stops the timers and disables them. A timer systemd does not
// know (its file is gone) is not an error.
func (m *Manager) stopTimers(ctx context.Context, names []string) error {
	if err := m.jobs(ctx, names, m.Conn.StopUnitContext, true); err != nil {
		return err
	}
	for _, name := range names {
		if err := m.disable(name); err != nil {
			return fmt.Errorf("disable %s: %w", name, err)
		}
	}
	return nil
}

// jobs queues a start or stop job for each unit, then waits for all of
// them. The channels are buffered: an unread job channel blocks the whole
// connection. With missingOK, a unit systemd cannot load is skipped.
func (m *Manager) jobs(ctx context.Context, names []string, f func(context.Context, string, string, chan<- string) (int, error), missingOK bool) error {
	chans := make([]chan string, 0, len(names))
	var queued []string
	for _, name := range names {
		ch := make(chan string, 1)
		if _, err := f(ctx, name, "replace", ch); err != nil {
			if missingOK && isNoSuchUnit(err) {
				continue
			}
			return fmt.Errorf("%s: %w", name, err)
		}
		chans = append(chans, ch)
		queued = append(queued, name)
	}
	for i, ch := range chans {
		select {
		case res := <-ch:
			if res != "done" {
				return fmt.Errorf("%s: job %s", queued[i], res)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// job runs one start or stop job and waits for its end.
func (m *Manager) job(ctx context.Context, name string, f func(context.Context, string, string, chan<- string) (int, error)) error {
	return m.jobs(ctx, []string{name}, f, false)
}

func isNoSuchUnit(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "NoSuchUnit") || strings.Contains(err.Error(), "not loaded") ||
		strings.Contains(err.Error(), "does not exist"))
}

// Remove stops, disables and deletes the timers of the tasks.
func (m *Manager) Remove(ctx context.Context, ids []string) error {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = TimerName(id)
	}
	if err := m.stopTimers(ctx, names); err != nil {
		return err
	}
	for _, id := range ids {
		err := os.Remove(filepath.Join(m.Dir, TimerName(id)))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if path := TaskDropInPath(m.Dir, id); generated(path) {
			if err := removeDropIn(path); err != nil {
				return err
			}
		}
	}
	return m.Conn.ReloadContext(ctx)
}

// Orphans lists the ids of generated timers and drop-ins whose task is not
// in known.
func (m *Manager) Orphans(known map[string]bool) ([]string, error) {
	timers, err := filepath.Glob(filepath.Join(m.Dir, "mailpull-sync@*.timer"))
	if err != nil {
		return nil, err
	}
	dropIns, err := filepath.Glob(TaskDropInPath(m.Dir, "*"))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, f := range append(timers, dropIns...) {
		name := strings.TrimSuffix(f, "/"+TLSCAName+".conf")
		id := strings.TrimPrefix(filepath.Base(name), "mailpull-sync@")
		id = strings.TrimSuffix(strings.TrimSuffix(id, ".service.d"), ".timer")
		if known[id] || seen[id] || !generated(f) {
			continue
		}
		seen[id] = true
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
