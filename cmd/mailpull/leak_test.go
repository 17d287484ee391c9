package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The remote password, given once to task add and once in a CSV row, is
// found nowhere afterwards: not in any process's argv or environment while
// mailpull runs, not in the task files, the ledger or anything else under
// the configuration's directories, not in any output (text or --json).
func TestPasswordsLeakNowhere(t *testing.T) {
	w := newWorld(t)
	w.remote.Put(t, "INBOX", corpus(300)...)
	w.remote.AddUser(t, "csvuser", "csv-Pw-7f3a-secret")
	secrets := []string{w.remote.Password, "csv-Pw-7f3a-secret"}
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte(w.remote.Password+"\n"), 0o600)
	host, port, _ := net.SplitHostPort(w.remote.TLSAddr)
	var outputs []string
	run := func(args ...string) string {
		code, out, errOut := mailpullRun(t, append([]string{"--config", w.cfg}, args...)...)
		if code != ExitOK {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		outputs = append(outputs, out, errOut)
		return strings.TrimSpace(out)
	}
	id := run("task", "add", "--local-user", "alice", "--host", host, "--port", port, "--user", w.remote.User,
		"--password-file", pwFile, "--tls-ca", w.remote.CA.CAFile)
	csv := filepath.Join(t.TempDir(), "users.csv")
	os.WriteFile(csv, []byte(fmt.Sprintf("localusername,remoteusername,remotepassword,remotehostname,remoteport,security,tls_ca\n"+
		"bob,csvuser,\"%s\",%s,%s,ssl,%s\n", secrets[1], host, port, w.remote.CA.CAFile)), 0o600)
	run("import-csv", csv)
	outputs = append(outputs, watchProcesses(t, secrets, "--config", w.cfg, "sync", "--json", id)...)
	run("sync", id)
	run("info", "--json", id)
	run("task", "list", "--json")
	run("task", "show", "--json", id)
	for _, s := range secrets {
		for i, out := range outputs {
			if strings.Contains(out, s) {
				t.Errorf("output %d holds a password: %q", i, out)
			}
		}
		assertAbsent(t, w.dir, s)
	}
}

// watchProcesses runs mailpull and, while it runs, reads the argv and
// environment of every process on the machine, looking for the secrets.
func watchProcesses(t *testing.T, secrets []string, args ...string) []string {
	t.Helper()
	p := startMailpull(t, args...)
	seen := 0
	for {
		select {
		case <-p.done:
			if seen == 0 {
				t.Fatal("the run ended before a process was seen")
			}
			return []string{p.stdout.String(), p.stderr.String()}
		default:
		}
		seen += scanProcesses(t, secrets)
		time.Sleep(20 * time.Millisecond)
	}
}

func scanProcesses(t *testing.T, secrets []string) int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		for _, f := range []string{"cmdline", "environ"} {
			b, err := os.ReadFile(filepath.Join(d, f))
			if err != nil {
				continue
			}
			for _, s := range secrets {
				if strings.Contains(string(b), s) {
					t.Errorf("%s/%s holds a password", d, f)
				}
			}
		}
	}
	return len(dirs)
}

// assertAbsent fails if secret is in any file under dir.
func assertAbsent(t *testing.T, dir, secret string) {
	t.Helper()
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), secret) {
				t.Errorf("%s holds a password", p)
			}
		}
		return nil
	})
}
