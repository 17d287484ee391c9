package main

import (
	"strings"
	"testing"
)

// runCLI runs mailpull as its own process, the binary an admin runs (the
// test binary re-run as main), with empty stdin, and returns its exit code
// and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return mailpullRun(t, args...)
}

func TestHelpListsEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		code, out, _ := runCLI(t, args...)
		if code != ExitOK {
			t.Fatalf("%v: exit %d", args, code)
		}
		for _, c := range commands() {
			if !strings.Contains(out, "  "+c.name+" ") {
				t.Errorf("%v: help does not list %q:\n%s", args, c.name, out)
			}
		}
	}
}

func TestCommandHelp(t *testing.T) {
	for _, c := range commands() {
		code, out, errOut := runCLI(t, "help", c.name)
		if code != ExitOK || !strings.Contains(out, "usage: mailpull "+c.name) || errOut != "" {
			t.Errorf("help %s: exit %d, stdout %q, stderr %q", c.name, code, out, errOut)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, "version")
	if code != ExitOK || !strings.HasPrefix(out, "mailpull ") {
		t.Fatalf("exit %d, output %q", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"no-such-command"},
		{"--no-such-flag", "version"},
		{"version", "extra"},
		{"version", "--bogus"},
		{"help", "no-such-command"},
	} {
		code, _, errOut := runCLI(t, args...)
		if code != ExitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, ExitUsage)
		}
		if errOut == "" {
			t.Errorf("%q: nothing said on stderr", args)
		}
	}
}
