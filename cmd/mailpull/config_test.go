package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mailpull.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigCheckShippedExample(t *testing.T) {
	code, out, errOut := runCLI(t, "--config", "../../packaging/mailpull.toml", "config", "check")
	if code != ExitOK || !strings.HasSuffix(out, ": ok\n") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestConfigCheckReportsEverythingWithLines(t *testing.T) {
	p := writeConfig(t, `state_dir = "var/lib"
colour = "blue"

[dovecot]
imap = "localhost"
separator = "**"
masteruser = "vmail"

[ldap]
url = "http://x"
base_dn = "dc=example,dc=org"
timeout = "soon"
`)
	code, _, errOut := runCLI(t, "--config", p, "config", "check")
	if code != ExitConfig {
		t.Fatalf("exit %d, want %d; %s", code, ExitConfig, errOut)
	}
	// Unknown keys come first, and only they: values are checked once the
	// keys are right, each with its line.
	for _, want := range []string{p + `:2: unknown key "colour"`, p + `:7: unknown key "dovecot.masteruser"`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	p = writeConfig(t, `state_dir = "var/lib"

[dovecot]
imap = "localhost"
separator = "**"
master_user = "vmail"

[ldap]
url = "http://x"
base_dn = "dc=example,dc=org"
timeout = "soon"
`)
	code, _, errOut = runCLI(t, "--config", p, "config", "check")
	for _, want := range []string{p + ":1: state_dir:", p + ":4: dovecot.imap:", p + ":5: dovecot.separator:",
		p + ":11: ldap.timeout:"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if code != ExitConfig {
		t.Errorf("exit %d, want %d", code, ExitConfig)
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	t.Setenv("MAILPULL_CONFIG", filepath.Join(t.TempDir(), "missing.toml"))
	code, _, errOut := runCLI(t, "config", "check")
	if code != ExitConfig || !strings.Contains(errOut, "missing.toml") {
		t.Fatalf("a named missing file: exit %d, %q", code, errOut)
	}
}

func TestConfigCheckLDAPSection(t *testing.T) {
	p := writeConfig(t, "[ldap]\nurl = \"http://x\"\nbase_dn = \"dc=example,dc=org\"\n")
	code, _, errOut := runCLI(t, "--config", p, "config", "check")
	if code != ExitConfig || !strings.Contains(errOut, "ldap") || !strings.Contains(errOut, "http://x") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
