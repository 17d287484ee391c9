package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailpull/mailpull/internal/rig"
)

func ldapConfig(t *testing.T, s *rig.Slapd, extra string) string {
	return writeConfig(t, fmt.Sprintf(`[ldap]
url = %q
ca_file = %q
bind_dn = %q
bind_password_file = %q
base_dn = %q
%s`, s.LDAPSURL, s.CA.CAFile, s.BindDN, s.BindPasswordFile, s.BaseDN, extra))
}

func TestUsersFromLDAP(t *testing.T) {
	s := rig.StartSlapd(t)
	p := ldapConfig(t, s, "")
	code, out, errOut := runCLI(t, "--config", p, "users")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, u := range s.Users {
		if strings.Contains(out, u.Mail) == u.Disabled {
			t.Errorf("user %s (disabled %v) listed wrongly:\n%s", u.Login, u.Disabled, out)
		}
	}
	code, out, _ = runCLI(t, "--config", p, "users", "--json")
	var users []userJSON
	if err := json.Unmarshal([]byte(out), &users); code != ExitOK || err != nil {
		t.Fatalf("exit %d, %v: %s", code, err, out)
	}
	p = ldapConfig(t, s, fmt.Sprintf("filter = \"(memberOf=%s)\"\n", s.Group))
	_, out, _ = runCLI(t, "--config", p, "users", "--json")
	if err := json.Unmarshal([]byte(out), &users); err != nil || len(users) != 1 || users[0].Login != "alice" {
		t.Fatalf("group filter: %v %s", err, out)
	}
}

func TestUsersExitCodes(t *testing.T) {
	s := rig.StartSlapd(t)
	code, _, errOut := runCLI(t, "--config", writeConfig(t, ""), "users")
	if code != ExitConfig || !strings.Contains(errOut, "[ldap]") {
		t.Errorf("no ldap section: exit %d: %s", code, errOut)
	}
	bad := ldapConfig(t, s, "")
	bad = strings.Replace(readFile(t, bad), s.BindPasswordFile, writeConfig(t, "wrong"), 1)
	code, _, errOut = runCLI(t, "--config", writeConfig(t, bad), "users")
	if code != ExitNoPerm || strings.Contains(errOut, "wrong") {
		t.Errorf("wrong bind password: exit %d: %s", code, errOut)
	}
	down := ldapConfig(t, s, "timeout = \"300ms\"\n")
	down = strings.Replace(readFile(t, down), s.LDAPSURL, "ldaps://127.0.0.1:"+fmt.Sprint(rig.FreePort(t)), 1)
	code, _, errOut = runCLI(t, "--config", writeConfig(t, down), "users")
	if code != ExitUnavailable {
		t.Errorf("directory down: exit %d: %s", code, errOut)
	}
}

// The bind password can be a credential that "mailpull ldap-password"
// stores encrypted, instead of a file in clear.
func TestUsersWithStoredBindPassword(t *testing.T) {
	s := rig.StartSlapd(t)
	credDir := t.TempDir()
	p := writeConfig(t, fmt.Sprintf("credentials_dir = %q\n[ldap]\nurl = %q\nca_file = %q\nbind_dn = %q\nbase_dn = %q\n",
		credDir, s.LDAPSURL, s.CA.CAFile, s.BindDN, s.BaseDN))
	code, _, errOut := mailpullRun(t, "--config", p, "users")
	if code != ExitConfig || !strings.Contains(errOut, "mailpull ldap-password") {
		t.Fatalf("no password stored: exit %d: %s", code, errOut)
	}
	code, _, errOut = mailpullRun(t, "--config", p, "ldap-password", "--password-file", s.BindPasswordFile)
	if code != ExitOK {
		t.Fatalf("ldap-password: exit %d: %s", code, errOut)
	}
	secret := strings.TrimSpace(readFile(t, s.BindPasswordFile))
	if stored := readFile(t, filepath.Join(credDir, "ldap.cred")); strings.Contains(stored, secret) {
		t.Fatal("the credential holds the password in clear")
	}
	code, out, errOut := mailpullRun(t, "--config", p, "users")
	if code != ExitOK || !strings.Contains(out, s.Users[0].Mail) {
		t.Fatalf("with the stored password: exit %d: %s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, secret) {
		t.Fatal("the password is in the output")
	}
}

// A local user name is a value in the LDAP filter, never filter syntax: an
// injection finds nobody, and task add saves nothing.
func TestLDAPFilterInjectionFindsNobody(t *testing.T) {
	s := rig.StartSlapd(t)
	dir := t.TempDir()
	p := writeConfig(t, fmt.Sprintf("tasks_dir = %q\ncredentials_dir = %q\n[ldap]\nurl = %q\nca_file = %q\nbind_dn = %q\nbind_password_file = %q\nbase_dn = %q\n",
		filepath.Join(dir, "tasks"), filepath.Join(dir, "credentials"), s.LDAPSURL, s.CA.CAFile, s.BindDN, s.BindPasswordFile, s.BaseDN))
	for _, login := range []string{"*", "alice)(|(uid=*", "*)(uid=*", "al*"} {
		code, out, errOut := runCLI(t, "--config", p, "task", "add", "--local-user", login, "--host", "127.0.0.1",
			"--user", "a", "--password-file", passwordFile(t))
		if code != ExitNoUser || !strings.Contains(errOut, "no such user") {
			t.Errorf("local user %q: exit %d (want %d, no such user in LDAP): %s%s", login, code, ExitNoUser, out, errOut)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*", "*")); len(left) != 0 {
		t.Errorf("saved: %v", left)
	}
}
