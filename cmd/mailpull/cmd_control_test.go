package main

import (
	"strings"
	"testing"
)

// Without systemd the control commands say so and point to sync; the test
// host proves them with systemd.
func TestControlWithoutSystemd(t *testing.T) {
	cfg, _ := taskConfig(t)
	code, out, errOut := runCLI(t, "--config", cfg, "task", "add", "--local-user", "alice", "--host", "imap.example.org",
		"--user", "a", "--password-file", passwordFile(t), "--schedule", "5m", "--no-check")
	if code != ExitOK || !strings.Contains(errOut, "systemd is not running here") {
		t.Fatalf("add: exit %d, stderr %q", code, errOut)
	}
	id := strings.TrimSpace(out)
	for _, args := range [][]string{{"start", id}, {"stop", id}, {"status"}, {"start-all"}} {
		code, _, errOut := runCLI(t, append([]string{"--config", cfg}, args...)...)
		if code != ExitUnavailable || !strings.Contains(errOut, "mailpull sync ID") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	if code, _, _ := runCLI(t, "--config", cfg, "start", "nosuch"); code != ExitUsage {
		t.Errorf("start of an unknown task: exit %d", code)
	}
	// A manual task has no timer: nothing is missing without systemd.
	code, _, errOut = runCLI(t, "--config", cfg, "task", "add", "--local-user", "alice", "--host", "imap.example.org",
		"--user", "b", "--password-file", passwordFile(t), "--schedule", "manual", "--no-check")
	if code != ExitOK || strings.Contains(errOut, "systemd") {
		t.Errorf("add of a manual task: exit %d, stderr %q", code, errOut)
	}
}
