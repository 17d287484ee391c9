package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailpull/mailpull/task"
	"github.com/mailpull/mailpull/units"
)

// TestSystemd installs mailpull in a test host and proves issue 6 there,
// step by step on one host: a task's timer, runs started by systemctl that
// copy mail into the local Dovecot inside, the journal's summary line and
// fields, a stopped run that the next one completes without duplicates,
// the daemon following the directory, no password in units or journal, and
// a reconcile of 5,000 tasks.
func TestSystemd(t *testing.T) {
	w := newWorld(t)
	var alice, bob string

	t.Run("task add makes a timer", func(t *testing.T) {
		alice = w.addTask(t, "alice", w.remote.Addr)
		out := w.h.MustExec("systemctl", "list-timers", "--no-pager")
		if !strings.Contains(out, units.TimerName(alice)) {
			t.Errorf("list-timers has no %s:\n%s", units.TimerName(alice), out)
		}
		if s := w.enabled(t, alice); s != "enabled" {
			t.Errorf("%s is %s, want enabled", units.TimerName(alice), s)
		}
	})

	t.Run("systemctl start copies into the local Dovecot", func(t *testing.T) {
		// A first run by hand, as root, creates the ledger; the unit's
		// dynamic user then takes it over.
		w.remote.Put(t, "INBOX", corpus(20, 2000, "inbox")...)
		w.remote.Put(t, "Work.Projects", corpus(5, 500, "projects")...)
		out := w.mustMailpull(t, "", "sync", alice)
		if !strings.Contains(out, "copied 25,") {
			t.Errorf("sync by hand: %q", out)
		}
		w.remote.Put(t, "Sent", corpus(10, 1000, "sent")...)
		if out, err := w.h.Exec("systemctl", "start", units.ServiceName(alice)); err != nil {
			t.Fatalf("%v\n%s\n%s", err, out, w.unitJournal(units.ServiceName(alice)))
		}
		if d := w.sameMail(t, "alice"); len(d) > 0 {
			t.Errorf("after the run: %s", strings.Join(d, "; "))
		}
	})

	t.Run("journal has the summary with fields", func(t *testing.T) {
		last := w.lastRunLine(t, "-u", units.ServiceName(alice))
		want := map[string]string{"MAILPULL_TASK": alice, "MAILPULL_USER": "alice", "MAILPULL_COPIED": "10",
			"MAILPULL_SKIPPED": "0", "MAILPULL_DELETED": "0", "MAILPULL_ERRORS": "0", "MAILPULL_EXIT_CODE": "0"}
		checkFields(t, last, want)
		byUser := w.lastRunLine(t, "MAILPULL_USER=alice")
		if byUser["__CURSOR"] != last["__CURSOR"] {
			t.Errorf("journalctl MAILPULL_USER=alice: last summary %q, want %q", byUser["MESSAGE"], last["MESSAGE"])
		}
		text := w.h.MustExec("journalctl", "-u", units.ServiceName(alice), "-o", "cat", "--no-pager")
		if strings.Count(text, "run finished") != 1 || strings.Contains(text, "task "+alice+": copied") {
			t.Errorf("want one summary line, logged, not printed:\n%s", text)
		}
	})

	t.Run("status --json", func(t *testing.T) {
		var st []struct {
			Task       string     `json:"task"`
			Timer      bool       `json:"timer"`
			Running    bool       `json:"running"`
			LastResult string     `json:"last_result"`
			ExitCode   int        `json:"exit_code"`
			LastRun    *time.Time `json:"last_run"`
			NextRun    *time.Time `json:"next_run"`
		}
		out := w.mustMailpull(t, "", "status", "--json", alice)
		if err := json.Unmarshal([]byte(out), &st); err != nil || len(st) != 1 {
			t.Fatalf("status --json: %v\n%s", err, out)
		}
		s := st[0]
		if s.Task != alice || !s.Timer || s.Running || s.LastResult != "success" || s.ExitCode != 0 || s.LastRun == nil || s.NextRun == nil {
			t.Errorf("status --json: %s", out)
		}
	})

	t.Run("systemctl stop leaves a ledger the next run completes", func(t *testing.T) {
		w.remote.Put(t, "Big", corpus(300, 6000, "big")...)
		bob = w.addTask(t, "bob", w.proxy.addr)
		total := count(w.remote.Read(t))
		w.proxy.slow.Store(true)
		w.h.MustExec("systemctl", "start", "--no-block", units.ServiceName(bob))
		status := ""
		waitFor(t, "progress in STATUS=", 60*time.Second, func() (bool, string) {
			status = w.show(t, units.ServiceName(bob), "StatusText")
			return regexp.MustCompile(`^copied [1-9]`).MatchString(status), status
		})
		t.Logf("systemctl status shows: %s", status)
		w.h.MustExec("systemctl", "stop", units.ServiceName(bob))
		w.proxy.slow.Store(false)
		if code := w.show(t, units.ServiceName(bob), "ExecMainStatus"); code != "75" {
			t.Errorf("the stopped run exited %s, want 75 (temporary: the next run goes on)", code)
		}
		if s := w.show(t, units.ServiceName(bob), "ActiveState"); s == "active" || s == "activating" {
			t.Errorf("after stop the unit is %s", s)
		}
		stoppedAt := count(w.local(t, "bob"))
		if stoppedAt >= total {
			t.Fatalf("the run was not stopped midway: %d of %d messages local", stoppedAt, total)
		}
		stopped := w.lastRunLine(t, "-u", units.ServiceName(bob))
		checkFields(t, stopped, map[string]string{"MAILPULL_EXIT_CODE": "75"})

		if out, err := w.h.Exec("systemctl", "start", units.ServiceName(bob)); err != nil {
			t.Fatalf("the next run: %v\n%s\n%s", err, out, w.unitJournal(units.ServiceName(bob)))
		}
		if d := w.sameMail(t, "bob"); len(d) > 0 {
			t.Errorf("after the next run: %s", strings.Join(d, "; "))
		}
		next := w.lastRunLine(t, "-u", units.ServiceName(bob))
		checkFields(t, next, map[string]string{"MAILPULL_EXIT_CODE": "0", "MAILPULL_ERRORS": "0"})
		t.Logf("stopped with %d of %d messages local; stopped run: %s; next run: %s", stoppedAt, total, stopped["MESSAGE"], next["MESSAGE"])
	})

	t.Run("daemon pauses and resumes a user's timer", func(t *testing.T) {
		w.h.MustExec("systemctl", "start", "mailpull.service")
		if s := w.show(t, "mailpull.service", "ActiveState"); s != "active" {
			t.Fatalf("mailpull.service is %s\n%s", s, w.unitJournal("mailpull.service"))
		}
		t.Logf("daemon: %s", w.show(t, "mailpull.service", "StatusText"))
		w.slapd.SetDisabled(t, "alice", true)
		w.h.MustExec("systemctl", "reload", "mailpull.service")
		w.waitTimer(t, alice, "inactive")
		if s := w.enabled(t, alice); s != "disabled" {
			t.Errorf("alice's paused timer is %s, want disabled", s)
		}
		if s := w.show(t, units.TimerName(bob), "ActiveState"); s != "active" {
			t.Errorf("bob's timer is %s, want active", s)
		}
		paused := w.journal(t, "-u", "mailpull.service", "MAILPULL_TASK="+alice)
		if len(paused) == 0 || !strings.HasPrefix(paused[len(paused)-1]["MESSAGE"], "task paused") {
			t.Errorf("no \"task paused\" line for %s in the daemon's journal", alice)
		}
		w.slapd.SetDisabled(t, "alice", false)
		w.h.MustExec("systemctl", "reload", "mailpull.service")
		w.waitTimer(t, alice, "active")
		if s := w.enabled(t, alice); s != "enabled" {
			t.Errorf("alice's resumed timer is %s, want enabled", s)
		}
	})

	t.Run("an INBOX task delivers through LMTP, finding the address in LDAP", func(t *testing.T) {
		carol := w.addTask(t, "carol", w.remote.Addr, "--folders", "inbox", "--sieve", "--first-run", "all")
		want := len(w.remote.Read(t)["INBOX"])
		if out, err := w.h.Exec("systemctl", "start", units.ServiceName(carol)); err != nil {
			t.Fatalf("%v\n%s\n%s", err, out, w.unitJournal(units.ServiceName(carol)))
		}
		got := w.local(t, "carol")["INBOX"]
		if len(got) != want || want == 0 {
			t.Errorf("carol's INBOX has %d messages, the remote INBOX %d", len(got), want)
		}
		for _, m := range got {
			if !strings.Contains(string(m.Body), "X-Mailpull-Origin: "+carol+"/") {
				t.Errorf("a message in carol's INBOX was not delivered by the task:\n%.300s", m.Body)
				break
			}
		}
		checkFields(t, w.lastRunLine(t, "-u", units.ServiceName(carol)), map[string]string{"MAILPULL_EXIT_CODE": "0",
			"MAILPULL_COPIED": fmt.Sprint(want)})
	})

	t.Run("no password in units or journal", func(t *testing.T) {
		for _, secret := range []string{w.remote.Password, w.masterPW, w.slapd.BindPassword} {
			out, err := w.h.Exec("grep", "-rlF", "--devices=skip", "--", secret, "/etc/systemd", "/run/systemd", "/lib/systemd/system")
			if err == nil || strings.TrimSpace(out) != "" {
				t.Errorf("a password is in %s", out)
			}
			export := w.h.MustExec("journalctl", "-o", "export", "--no-pager")
			if strings.Contains(export, secret) {
				t.Errorf("a password is in the journal")
			}
			if len(export) < 1000 {
				t.Errorf("journal export: only %d bytes", len(export))
			}
		}
	})

	t.Run("reconcile of 5000 tasks", func(t *testing.T) { w.reconcile5000(t) })
}

// reconcile5000 adds 5,000 tasks at once; the daemon applies them (the
// tasks directory changed), then a reconcile with nothing to change is
// timed.
func (w *world) reconcile5000(t *testing.T) {
	const n = 5000
	dir := filepath.Join(t.TempDir(), "tasks")
	store := task.Store{Dir: dir}
	for i := range n {
		tk := task.New()
		tk.ID = fmt.Sprintf("z%05d", i)
		tk.LocalUser = []string{"alice", "bob", "carol"}[i%3]
		tk.Host, tk.Port, tk.RemoteUser = "imap.example.net", 993, fmt.Sprintf("user%d", i)
		tk.Schedule = []string{"30m", "2h", "*-*-* 04:00:00"}[i%3]
		if err := store.Save(tk); err != nil {
			t.Fatal(err)
		}
	}
	// The tasks the earlier subtests added, each with a timer.
	have, _ := strconv.Atoi(strings.TrimSpace(w.h.MustExec("sh", "-c", "ls /etc/mailpull/tasks | wc -l")))
	before := len(w.reconciled(t))
	start := time.Now()
	if err := w.h.CopyIn(dir, "/etc/mailpull/bulk"); err != nil {
		t.Fatal(err)
	}
	w.h.MustExec("sh", "-c", "find /etc/mailpull/bulk -name '*.toml' -exec mv -t /etc/mailpull/tasks {} +")
	first := w.waitReconciled(t, before, n+have, 4*time.Minute)
	t.Logf("first reconcile of %d tasks (5,000 new timers): %s (%v from the copy)", n+have, first["MAILPULL_TOOK"], time.Since(start).Round(time.Second))
	active := w.h.MustExec("sh", "-c", "systemctl list-units --no-legend --plain --state=active 'mailpull-sync@*.timer' | wc -l")
	if got, _ := strconv.Atoi(strings.TrimSpace(active)); got != n+have {
		t.Errorf("%s active timers, want %d", strings.TrimSpace(active), n+have)
	}
	for range 2 {
		before = len(w.reconciled(t))
		w.h.MustExec("systemctl", "reload", "mailpull.service")
		again := w.waitReconciled(t, before, n+have, time.Minute)
		t.Logf("reconcile of %d tasks with nothing to change: %s", n+have, again["MAILPULL_TOOK"])
	}
}

// reconciled lists the daemon's "reconciled" lines.
func (w *world) reconciled(t *testing.T) []map[string]string {
	var out []map[string]string
	for _, e := range w.journal(t, "-u", "mailpull.service") {
		if strings.HasPrefix(e["MESSAGE"], "reconciled") {
			out = append(out, e)
		}
	}
	return out
}

// waitReconciled waits for a reconcile after the first before ones that saw
// tasks tasks.
func (w *world) waitReconciled(t *testing.T, before, tasks int, timeout time.Duration) map[string]string {
	t.Helper()
	var found map[string]string
	waitFor(t, "the daemon's reconcile", timeout, func() (bool, string) {
		all := w.reconciled(t)
		for _, e := range all[min(before, len(all)):] {
			if e["MAILPULL_TASKS"] == strconv.Itoa(tasks) {
				found = e
				return true, ""
			}
		}
		return false, w.show(t, "mailpull.service", "StatusText")
	})
	return found
}

// waitTimer waits until the task's timer is in state.
func (w *world) waitTimer(t *testing.T, id, state string) {
	t.Helper()
	waitFor(t, units.TimerName(id)+" "+state, 30*time.Second, func() (bool, string) {
		s := w.show(t, units.TimerName(id), "ActiveState")
		return s == state, s
	})
}

// enabled is what "systemctl is-enabled" says of a task's timer.
func (w *world) enabled(t *testing.T, id string) string {
	out, _ := w.h.Exec("systemctl", "is-enabled", units.TimerName(id))
	return strings.TrimSpace(out)
}

// show reads one property of a unit.
func (w *world) show(t *testing.T, unit, prop string) string {
	t.Helper()
	return strings.TrimSpace(w.h.MustExec("systemctl", "show", "--value", "-p", prop, unit))
}

// journal reads the journal entries that match args, oldest first; fields
// journalctl gives as arrays (binary) are left out.
func (w *world) journal(t *testing.T, args ...string) []map[string]string {
	t.Helper()
	w.h.Exec("journalctl", "--sync")
	out := w.h.MustExec(append([]string{"journalctl", "-o", "json", "--no-pager"}, args...)...)
	var entries []map[string]string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" || line == "-- No entries --" {
			continue
		}
		var raw map[string]any
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			t.Fatalf("journalctl -o json: %v: %q", err, line)
		}
		e := map[string]string{}
		for k, v := range raw {
			if s, ok := v.(string); ok {
				e[k] = s
			}
		}
		entries = append(entries, e)
	}
	return entries
}

// lastRunLine is the last line mailpull itself logged among the entries
// that match args; it must be a run's summary.
func (w *world) lastRunLine(t *testing.T, args ...string) map[string]string {
	t.Helper()
	var last map[string]string
	for _, e := range w.journal(t, args...) {
		if e["SYSLOG_IDENTIFIER"] == "mailpull" {
			last = e
		}
	}
	if last == nil || !strings.HasPrefix(last["MESSAGE"], "run finished") {
		t.Fatalf("journalctl %s: the last line of mailpull is %q, want the run's summary", strings.Join(args, " "), last["MESSAGE"])
	}
	return last
}

func checkFields(t *testing.T, e map[string]string, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if e[k] != v {
			t.Errorf("%s=%q, want %q, in %q", k, e[k], v, e["MESSAGE"])
		}
	}
}

// unitJournal is a unit's journal, for failure messages.
func (w *world) unitJournal(unit string) string {
	out, _ := w.h.Exec("journalctl", "-u", unit, "--no-pager", "-n", "40")
	return out
}
