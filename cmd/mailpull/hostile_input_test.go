package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/mailpull/mailpull/task"
	"github.com/mailpull/mailpull/units"
)

// hostileValues are what an admin might paste by mistake or an attacker
// might slip into a form: a new unit directive, systemd specifiers, path
// separators and traversal, a NUL (CSV only: argv cannot carry one), and
// a very long value.
var hostileValues = []string{
	"x\nExecStartPre=/bin/sh -c id", "x\r\n[Service]", "%n%i%h%%", "a/b", "..", "../../etc/passwd",
	"x\\", strings.Repeat("a", 10000),
}

// taskFields are the string fields an admin types, by flag, with how to
// read each back from a saved task.
var taskFields = []struct {
	flag  string
	base  []string // flags the field needs to be taken into account
	saved func(task.Task) string
}{
	{"id", nil, func(t task.Task) string { return t.ID }},
	{"local-user", nil, func(t task.Task) string { return t.LocalUser }},
	{"host", nil, func(t task.Task) string { return t.Host }},
	{"user", nil, func(t task.Task) string { return t.RemoteUser }},
	{"tls-ca", nil, func(t task.Task) string { return t.TLSCA }},
	{"tls-fingerprint", nil, func(t task.Task) string { return t.TLSFingerprint }},
	{"provider", nil, func(t task.Task) string { return t.Provider }},
	{"folders", nil, func(t task.Task) string { return t.Folders }},
	{"exclude", []string{"--folders", "all-except"}, func(t task.Task) string { return strings.Join(t.Exclude, ";") }},
	{"delete-remote", nil, func(t task.Task) string { return t.DeleteRemote }},
	{"first-run", []string{"--folders", "inbox"}, func(t task.Task) string { return t.FirstRun }},
	{"schedule", nil, func(t task.Task) string { return t.Schedule }},
}

// Every hostile value in every field of task add is refused with 64 and
// nothing saved, or saved as typed and harmless: the only files are the
// task's own (named by its id), the task file reads back the same value,
// and the timer rendered from it has exactly the directives mailpull
// writes, one per line.
func TestHostileInputEveryField(t *testing.T) {
	cfg, dir := taskConfig(t)
	pw := passwordFile(t)
	accepted := 0
	for _, f := range taskFields {
		for _, v := range hostileValues {
			args := append([]string{"--config", cfg, "task", "add", "--local-user", "alice", "--host", "imap.example.org",
				"--user", "a", "--no-check", "--password-file", pw}, f.base...)
			code, out, errOut := runCLI(t, append(args, "--"+f.flag, v)...)
			switch code {
			case ExitUsage, ExitConfig:
				checkSaved(t, dir, nil)
			case ExitOK:
				accepted++
				id := strings.TrimSpace(out)
				tk := checkSaved(t, dir, []string{id})
				if got := f.saved(tk); got != v {
					t.Errorf("--%s %.40q saved as %.40q", f.flag, v, got)
				}
				checkTimer(t, tk)
				if code, _, errOut := runCLI(t, "--config", cfg, "task", "rm", id); code != ExitOK {
					t.Fatalf("task rm %s: exit %d: %s", id, code, errOut)
				}
			default:
				t.Errorf("--%s %.40q: exit %d: %s", f.flag, v, code, errOut)
			}
		}
	}
	t.Logf("%d fields x %d values: %d accepted as typed, the rest refused", len(taskFields), len(hostileValues), accepted)
}

// checkSaved asserts that the tasks and credentials directories hold
// exactly the files of ids, and returns the task of the first.
func checkSaved(t *testing.T, dir string, ids []string) task.Task {
	t.Helper()
	var want, got []string
	for _, id := range ids {
		if !task.ValidID(id) {
			t.Fatalf("task id %q", id)
		}
		want = append(want, filepath.Join("credentials", id+".cred"), filepath.Join("tasks", id+".toml"))
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			got = append(got, rel)
		}
		return nil
	})
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("files %q, want %q", got, want)
	}
	if len(ids) == 0 {
		return task.Task{}
	}
	p := filepath.Join(dir, "tasks", ids[0]+".toml")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := task.Parse(p, data)
	if err != nil {
		t.Fatalf("the saved task does not read back: %v\n%s", err, data)
	}
	return tk
}

// timerOptions are the directives a generated timer may have.
var timerOptions = map[string]bool{"Unit.Description": true, "Unit.Documentation": true, "Timer.OnCalendar": true,
	"Timer.OnUnitActiveSec": true, "Timer.AccuracySec": true, "Timer.OnBootSec": true, "Timer.OnActiveSec": true, "Timer.Persistent": true,
	"Timer.RandomizedDelaySec": true, "Timer.FixedRandomDelay": true, "Timer.Unit": true, "Install.WantedBy": true}

var lonePercent = regexp.MustCompile(`%[^%]|%$`)

func checkTimer(t *testing.T, tk task.Task) {
	t.Helper()
	data, err := units.Timer(tk)
	if err != nil || data == nil {
		return // refused or manual: no file
	}
	opts, err := unit.DeserializeOptions(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("timer does not parse: %v\n%s", err, data)
	}
	for _, o := range opts {
		if !timerOptions[o.Section+"."+o.Name] || strings.ContainsAny(o.Value, "\r\n\x00") {
			t.Errorf("timer of %s has %s.%s=%q\n%s", tk.ID, o.Section, o.Name, o.Value, data)
		}
		if lonePercent.MatchString(strings.ReplaceAll(o.Value, "%%", "")) {
			t.Errorf("timer of %s: a specifier systemd would expand in %s=%q", tk.ID, o.Name, o.Value)
		}
	}
}

// The same through import-csv, NUL included: every hostile cell is
// refused with its row number, or its row is saved as typed and harmless.
func TestHostileInputEveryCSVColumn(t *testing.T) {
	header := []string{"localusername", "remoteusername", "remotepassword", "remotehostname", "remoteport", "security",
		"id", "provider", "folders", "exclude", "schedule", "tls_ca", "first_run", "delete_remote"}
	good := []string{"alice", "a", "pw", "imap.example.org", "993", "ssl", "", "imap", "all", "", "1h", "", "unseen", "none"}
	values := append(slices.Clone(hostileValues), "a\x00b")
	var rows [][]string
	for col := range header {
		if header[col] == "remotepassword" {
			continue // any bytes may be a password; it never reaches a file in clear
		}
		for _, v := range values {
			row := slices.Clone(good)
			row[col] = v
			row[1] = "u" + strings.Repeat("x", len(rows)) // distinct tasks
			rows = append(rows, row)
		}
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(header)
	w.WriteAll(rows)
	file := filepath.Join(t.TempDir(), "hostile.csv")
	os.WriteFile(file, []byte(b.String()), 0o600)

	cfg, dir := taskConfig(t)
	code, out, errOut := runCLI(t, "--config", cfg, "import-csv", "--check", file)
	if code == ExitOK || strings.ContainsAny(out+errOut, "\x00\r") || strings.Contains(out+errOut, "\nExecStartPre") {
		t.Errorf("import-csv --check: exit %d, output:\n%q", code, out+errOut)
	}
	checkSaved(t, dir, nil)
	code, out, errOut = runCLI(t, "--config", cfg, "import-csv", "--no-check", file)
	if code != ExitOK && code != ExitPartial && code != ExitUsage {
		t.Fatalf("import-csv: exit %d: %s%s", code, out, errOut)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "tasks"))
	var ids []string
	for _, e := range entries {
		ids = append(ids, strings.TrimSuffix(e.Name(), ".toml"))
	}
	for _, id := range ids {
		tk := checkSavedOne(t, dir, id)
		checkTimer(t, tk)
	}
	if len(ids) == 0 || len(ids) == len(rows) {
		t.Errorf("%d of %d rows saved: the good cells should pass, the bad ones not", len(ids), len(rows))
	}
	if strings.ContainsAny(out+errOut, "\x00\r") || strings.Contains(out+errOut, "\nExecStartPre") {
		t.Errorf("a hostile value was echoed raw:\n%q", out+errOut)
	}
	t.Logf("%d rows, %d saved as typed, the rest refused by row", len(rows), len(ids))
}

// checkSavedOne reads a task saved by an import and checks its files.
func checkSavedOne(t *testing.T, dir, id string) task.Task {
	t.Helper()
	if !task.ValidID(id) {
		t.Fatalf("a task file named %q", id)
	}
	if _, err := os.Stat(filepath.Join(dir, "credentials", id+".cred")); err != nil {
		t.Errorf("task %s has no credential: %v", id, err)
	}
	p := filepath.Join(dir, "tasks", id+".toml")
	data, _ := os.ReadFile(p)
	tk, err := task.Parse(p, data)
	if err != nil {
		t.Fatalf("task %s does not read back: %v", id, err)
	}
	return tk
}
