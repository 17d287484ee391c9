package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeCSV(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The three problems of the issue: a bad port, a missing column value and
// an empty password, each reported with its row, and nothing created.
func TestImportCSVCheck(t *testing.T) {
	cfg, dir := taskConfig(t)
	p := writeCSV(t, "localusername,remoteusername,remotepassword,remotehostname,remoteport,security\n"+
		"alice,a@example.org,"+testPassword+",imap.example.org,70000,ssl\n"+
		"bob,,"+testPassword+",imap.example.org,993,ssl\n"+
		"carol,c@example.org,,imap.example.org,993,tls\n"+
		"dave,d@example.org,"+testPassword+",imap.example.org,143,tls\n")
	code, out, _ := runCLI(t, "--config", cfg, "import-csv", "--check", p)
	if code != ExitUsage {
		t.Fatalf("exit %d, want %d:\n%s", code, ExitUsage, out)
	}
	for _, want := range []string{p + ":2: port: 70000", p + ":3: remoteusername: missing value", p + ":4: remotepassword: missing value",
		"4 rows, 1 valid, 3 with problems"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, testPassword) {
		t.Error("the output shows a password")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*", "*")); len(left) != 0 {
		t.Errorf("--check created files: %v", left)
	}
}

func TestImportCSVCreatesOnceAndUpdates(t *testing.T) {
	cfg, dir := taskConfig(t)
	rows := "localusername,remoteusername,remotepassword,remotehostname,remoteport,security\n"
	for _, u := range []string{"pansy.dumbledore5", "lavender.umbridge7", "dolores.slughorn3"} {
		rows += fmt.Sprintf("%s,%s@example.org,\"%s,x\",imap.example.org,993,ssl\n", u, u, testPassword)
	}
	rows += "bad/user,x@example.org,pw,imap.example.org,993,ssl\n"
	p := writeCSV(t, rows)
	code, out, _ := runCLI(t, "--config", cfg, "import-csv", "--no-check", p)
	if code != ExitPartial || !strings.Contains(out, "3 created, 0 updated, 0 already there, 1 failed") {
		t.Fatalf("first import: exit %d:\n%s", code, out)
	}
	code, out, _ = runCLI(t, "--config", cfg, "import-csv", "--no-check", p)
	if !strings.Contains(out, "0 created, 0 updated, 3 already there, 1 failed") {
		t.Fatalf("second import: exit %d:\n%s", code, out)
	}
	code, out, _ = runCLI(t, "--config", cfg, "import-csv", "--no-check", "--update", p)
	if !strings.Contains(out, "0 created, 3 updated, 0 already there, 1 failed") {
		t.Fatalf("update: exit %d:\n%s", code, out)
	}
	_, list, _ := runCLI(t, "--config", cfg, "task", "list")
	if n := strings.Count(list, "@example.org@imap.example.org:993"); n != 3 {
		t.Errorf("%d tasks listed, want 3:\n%s", n, list)
	}
	if strings.Contains(out, testPassword) {
		t.Error("the output shows a password")
	}
	assertNoPassword(t, dir)
}
