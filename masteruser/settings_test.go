package masteruser_test

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailpull/mailpull/internal/rig"
	"github.com/mailpull/mailpull/masteruser"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func TestSettingsGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		golden string
		cfg    masteruser.Config
		file   string
	}{
		// What "mailpull dovecot-config" prints by default.
		{"default", masteruser.Config{MasterUser: "vmail"}, ""},
		// Another name, separator and file, as an admin may choose.
		{"custom", masteruser.Config{MasterUser: "mailpull", Separator: "!"}, "/srv/dovecot/masters"},
	}
	for _, tt := range tests {
		got, err := masteruser.Settings(tt.cfg, tt.file)
		if err != nil {
			t.Fatalf("%s: %v", tt.golden, err)
		}
		path := filepath.Join("testdata", tt.golden+".golden")
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s: got\n%s\nwant (go test -update rewrites)\n%s", tt.golden, got, want)
		}
	}
}

func TestSettingsRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  masteruser.Config
		file string
	}{
		{"empty master", masteruser.Config{}, ""},
		{"master with colon", masteruser.Config{MasterUser: "v:mail"}, ""},
		{"relative file", masteruser.Config{MasterUser: "vmail"}, "master-users"},
		{"file with blank", masteruser.Config{MasterUser: "vmail"}, "/etc/dovecot/master users"},
		{"separator starting a comment", masteruser.Config{MasterUser: "vmail", Separator: "#"}, ""},
	}
	for _, tt := range tests {
		if got, err := masteruser.Settings(tt.cfg, tt.file); err == nil {
			t.Errorf("%s: rendered\n%s", tt.name, got)
		}
	}
}

// TestSettingsWork starts a Dovecot whose master user comes only from the
// rendered settings, with the password hashed by doveadm pw as the header
// says, and logs in through it both ways.
func TestSettingsWork(t *testing.T) {
	t.Parallel()
	for _, sep := range []string{"*", "!"} {
		t.Run(sep, func(t *testing.T) {
			t.Parallel()
			cfg := masteruser.Config{MasterUser: "vmail", MasterPassword: "s3cret-master", Separator: sep}
			file := filepath.Join(rig.Dir(t), "master-users")
			snippet, err := masteruser.Settings(cfg, file)
			if err != nil {
				t.Fatal(err)
			}
			writeMasterUsers(t, file, cfg)
			l := rig.StartLocal(t, rig.LocalOptions{MasterConfig: snippet,
				MasterUser: cfg.MasterUser, MasterPassword: cfg.MasterPassword})
			cfg.Addr = l.IMAPAddr
			wrong := cfg
			wrong.MasterPassword = "not-it"
			runChecks(t, cfg.MasterPassword,
				check{"good", cfg, "alice", nil},
				check{"unknown user", cfg, "nobody", masteruser.ErrUnknownUser},
				check{"wrong password", wrong, "alice", masteruser.ErrMasterAuth},
			)
		})
	}
}

// writeMasterUsers follows the rendered header: the hash from doveadm pw,
// never the password, in a file the auth process can read.
func writeMasterUsers(t *testing.T, file string, cfg masteruser.Config) {
	t.Helper()
	out, err := exec.Command("doveadm", "pw", "-s", "SHA512-CRYPT", "-p", cfg.MasterPassword).Output()
	if err != nil {
		t.Fatalf("doveadm pw: %v", err)
	}
	hash := strings.TrimSpace(string(out))
	if !strings.HasPrefix(hash, "{SHA512-CRYPT}") {
		t.Fatalf("doveadm pw printed %q", hash)
	}
	if err := os.WriteFile(file, []byte(cfg.MasterUser+":"+hash+"\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	rig.Chown(t, file)
}

// TestWithoutContinue pins what [masteruser.Check] documents for a master
// passdb without result_success = continue (NethServer 8's): Dovecot
// authenticates the master, then fails the login as an internal error
// (NO [UNAVAILABLE] or a dropped connection), which is not classified.
func TestWithoutContinue(t *testing.T) {
	t.Parallel()
	cfg := masteruser.Config{MasterUser: "vmail", MasterPassword: "s3cret-master"}
	file := filepath.Join(rig.Dir(t), "master-users")
	writeMasterUsers(t, file, cfg)
	snippet := strings.Join([]string{
		"auth_master_user_separator = *",
		"passdb {", "  driver = passwd-file", "  args = " + file, "  master = yes", "}",
	}, "\n")
	l := rig.StartLocal(t, rig.LocalOptions{MasterConfig: snippet,
		MasterUser: cfg.MasterUser, MasterPassword: cfg.MasterPassword})
	cfg.Addr = l.IMAPAddr
	for _, method := range []masteruser.Method{masteruser.MethodPlain, masteruser.MethodLogin} {
		cfg.Method = method
		wantErr(t, masteruser.Check(context.Background(), cfg, "alice"), nil, cfg.MasterPassword)
		err := masteruser.Check(context.Background(), cfg, "nobody")
		if err == nil {
			t.Fatalf("%s: login as an unknown user succeeded", method)
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				t.Errorf("%s: %v is classified as %v", method, err, s)
			}
		}
		if !strings.Contains(err.Error(), "UNAVAILABLE") && !strings.Contains(err.Error(), "EOF") {
			t.Errorf("%s: %v, want NO [UNAVAILABLE] or a closed connection", method, err)
		}
	}
}
