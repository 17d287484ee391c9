package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// On a terminal a run draws a bar, which it clears before the summary; the
// terminal is a pseudo-terminal that script(1) opens for the real binary.
func TestSyncDrawsABarOnATerminal(t *testing.T) {
	w := newWorld(t)
	w.remote.Put(t, "INBOX", corpus(300)...)
	id := w.addTask(t)
	script, err := exec.LookPath("script")
	if err != nil {
		t.Fatalf("script(1), from util-linux: %v", err)
	}
	cmd := exec.Command(script, "-qec", shellQuote(os.Args[0], "--config", w.cfg, "sync", id), "/dev/null")
	cmd.Env = append(os.Environ(), asMainEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	bar := regexp.MustCompile(`INBOX +\d+% \|[^|]*\| \(\d+/300, \d+ msg/s\)`)
	if !bar.Match(out) {
		t.Errorf("no bar for INBOX in the terminal's output:\n%q", out)
	}
	if !strings.Contains(string(out), "copied 300,") {
		t.Errorf("no summary after the bar:\n%q", out)
	}
}

// Elsewhere (a pipe, a file) it prints plain lines, the first at once.
func TestSyncPrintsPlainProgressElsewhere(t *testing.T) {
	w := newWorld(t)
	w.remote.Put(t, "INBOX", corpus(50)...)
	id := w.addTask(t)
	code, out, errOut := mailpullRun(t, "--config", w.cfg, "sync", id)
	if code != ExitOK {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	if !regexp.MustCompile(`(?m)^mailpull: copied \d+ messages; INBOX \d+/50$`).MatchString(errOut) {
		t.Errorf("no progress line on stderr:\n%s", errOut)
	}
	if strings.Contains(errOut, "\r") || strings.Contains(out, "\r") {
		t.Errorf("terminal control in a pipe:\n%q%q", out, errOut)
	}
}

// shellQuote joins args for sh -c, each in single quotes.
func shellQuote(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// An INBOX run shows its deliveries the same way.
func TestSyncInboxPrintsPlainProgress(t *testing.T) {
	w := newWorld(t)
	w.remote.Put(t, "INBOX", corpus(30)...)
	id := w.addTask(t, "--folders", "inbox", "--first-run", "all")
	code, out, errOut := mailpullRun(t, "--config", w.cfg, "sync", id)
	if code != ExitOK {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	if !regexp.MustCompile(`(?m)^mailpull: delivered 1 messages; INBOX 1/30$`).MatchString(errOut) {
		t.Errorf("no progress line on stderr:\n%s", errOut)
	}
}
