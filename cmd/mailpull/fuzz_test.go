package main

import (
	"os"
	"path/filepath"
	"testing"
)

// A config that loads must have passed validation: clean absolute paths.
func FuzzConfig(f *testing.F) {
	data, _ := os.ReadFile("../../packaging/mailpull.toml")
	f.Add(string(data))
	f.Add("state_dir = \"x\"\n[dovecot]\nseparator = \"**\"\n")
	f.Add("[ldap]\nurl = \"ldap://127.0.0.1\"\nbase_dn = \"dc=x\"\ntimeout = \"1s\"\n")
	f.Fuzz(func(t *testing.T, doc string) {
		p := filepath.Join(t.TempDir(), "c.toml")
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadConfig(p, true)
		if err != nil {
			return
		}
		for _, d := range []string{cfg.StateDir, cfg.TasksDir, cfg.CredentialsDir, cfg.Systemd.UnitDir} {
			if !filepath.IsAbs(d) || filepath.Clean(d) != d {
				t.Fatalf("accepted %q", d)
			}
		}
	})
}
