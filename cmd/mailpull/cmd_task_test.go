package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailpull/mailpull/task"
)

const testPassword = "pw-Zq81-never-shown"

// taskConfig is a configuration whose directories are under a temp dir.
func taskConfig(t *testing.T) (cfgFile, dir string) {
	t.Helper()
	dir = t.TempDir()
	cfgFile = writeConfig(t, fmt.Sprintf("state_dir = %q\ntasks_dir = %q\ncredentials_dir = %q\n",
		filepath.Join(dir, "state"), filepath.Join(dir, "tasks"), filepath.Join(dir, "credentials")))
	return cfgFile, dir
}

func passwordFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(p, []byte(testPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTaskLifecycleWithoutCheck(t *testing.T) {
	cfg, dir := taskConfig(t)
	code, out, errOut := runCLI(t, "--config", cfg, "task", "add", "--local-user", "alice", "--host", "imap.example.org",
		"--user", "alice@example.net", "--password-file", passwordFile(t), "--folders", "all-except",
		"--exclude", "^Spam", "--exclude", "^Trash$", "--schedule", "15m", "--no-check")
	id := strings.TrimSpace(out)
	if code != ExitOK || !task.ValidID(id) {
		t.Fatalf("add: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	code, out, _ = runCLI(t, "--config", cfg, "task", "show", "--json", id)
	var got task.Task
	if err := json.Unmarshal([]byte(out), &got); code != ExitOK || err != nil {
		t.Fatalf("show: exit %d, %v: %s", code, err, out)
	}
	if got.Port != 993 || got.Schedule != "15m" || len(got.Exclude) != 2 || got.Security != "ssl" {
		t.Errorf("task as stored: %+v", got)
	}

	code, _, errOut = runCLI(t, "--config", cfg, "task", "edit", id, "--security", "starttls", "--no-check")
	if code != ExitOK {
		t.Fatalf("edit: exit %d: %s", code, errOut)
	}
	_, out, _ = runCLI(t, "--config", cfg, "task", "list")
	if !strings.Contains(out, id) || !strings.Contains(out, "imap.example.org:143") {
		t.Errorf("list after edit to starttls:\n%s", out)
	}
	assertNoPassword(t, dir)

	if code, _, errOut = runCLI(t, "--config", cfg, "task", "rm", id); code != ExitOK {
		t.Fatalf("rm: exit %d: %s", code, errOut)
	}
	_, out, _ = runCLI(t, "--config", cfg, "task", "list", "--json")
	if strings.TrimSpace(out) != "[]" {
		t.Errorf("list after rm: %s", out)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "credentials", "*")); len(left) != 0 {
		t.Errorf("credential left after rm: %v", left)
	}
}

// assertNoPassword fails if the test password is in any file under dir.
func assertNoPassword(t *testing.T, dir string) {
	t.Helper()
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), testPassword) {
				t.Errorf("%s holds the password", p)
			}
		}
		return nil
	})
}

func TestTaskAddRefusesBadInput(t *testing.T) {
	cfg, dir := taskConfig(t)
	pw := passwordFile(t)
	base := []string{"--config", cfg, "task", "add", "--local-user", "alice", "--host", "imap.example.org", "--user", "a", "--no-check"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--password-file", pw, "--port", "0"}, "port"},
		{[]string{"--password-file", pw, "--security", "tls"}, "security"},
		{[]string{"--password-file", pw, "--folders", "all-except", "--exclude", "(bad"}, "exclude"},
		{[]string{"--password-file", pw, "--schedule", "5s"}, "schedule"},
		{[]string{"--password-file", pw, "--delete-remote", "older-than"}, "older-than=DAYS"},
		{[]string{"--password-file", pw, "--local-user", "bob\nExecStart=/bin/sh"}, "local_user"},
		{[]string{"--password-file", pw, "--id", "../etc"}, "id"},
		{[]string{}, "password"},
		{[]string{"--password-file", pw, "--password-stdin"}, "choose one"},
		{[]string{"--password-file", pw, "extra"}, "unexpected argument"},
	} {
		code, out, errOut := runCLI(t, append(base, c.args...)...)
		if code != ExitUsage || !strings.Contains(errOut, c.want) || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 64 and %q", c.args, code, out, errOut, c.want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "tasks", "*")); len(left) != 0 {
		t.Errorf("a refused task was saved: %v", left)
	}
}

// A task file an admin edited by hand with a key mailpull does not know is
// refused with its file and line, by every command that reads it.
func TestTaskFileWithUnknownKeyRefused(t *testing.T) {
	cfg, dir := taskConfig(t)
	code, out, errOut := runCLI(t, "--config", cfg, "task", "add", "--local-user", "alice", "--host", "imap.example.org",
		"--user", "a", "--password-file", passwordFile(t), "--schedule", "manual", "--no-check")
	if code != ExitOK {
		t.Fatalf("add: exit %d: %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	file := filepath.Join(dir, "tasks", id+".toml")
	data := readFile(t, file)
	line := strings.Count(data, "\n") + 1
	if err := os.WriteFile(file, []byte(data+"colour = \"blue\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%s:%d: unknown key \"colour\"", file, line)
	for _, args := range [][]string{{"task", "show", id}, {"sync", id}, {"task", "edit", id, "--schedule", "1h", "--no-check"}} {
		code, _, errOut := runCLI(t, append([]string{"--config", cfg}, args...)...)
		if code != ExitConfig || !strings.Contains(errOut, want) {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", args, code, ExitConfig, errOut, want)
		}
	}
	if got := readFile(t, file); !strings.Contains(got, "colour") || strings.Contains(got, "1h") {
		t.Errorf("the refused task file changed:\n%s", got)
	}
}
