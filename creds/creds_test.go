package creds

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

const secret = "s3cret-\x00-ünïcode\n"

func TestPutGetRemove(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("systemd-creds needs root for the host key; run the tests as root (make test does)")
	}
	ctx := context.Background()
	s := Store{Dir: filepath.Join(t.TempDir(), "credentials")}
	if err := s.Put(ctx, "a0241w", RemotePassword, []byte(secret)); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(s.Path("a0241w"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("s3cret")) {
		t.Fatal("credential file holds the secret in clear")
	}
	fi, _ := os.Stat(s.Path("a0241w"))
	di, _ := os.Stat(s.Dir)
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Errorf("modes %v %v, want 0600 0700", fi.Mode().Perm(), di.Mode().Perm())
	}
	got, err := s.Get(ctx, "a0241w", RemotePassword)
	if err != nil || string(got) != secret {
		t.Fatalf("Get: %q, %v", got, err)
	}
	// The name is bound to the file: systemd refuses it under another name,
	// as LoadCredentialEncrypted= would.
	if _, err := s.Get(ctx, "a0241w", MasterPassword); err == nil {
		t.Error("decrypted under the wrong name")
	}
	if err := s.Remove("a0241w"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "a0241w", RemotePassword); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after Remove: %v", err)
	}
}

func TestGetPrefersCredentialsDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, RemotePassword), []byte("from-systemd"), 0o400); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", dir)
	got, err := Store{Dir: t.TempDir()}.Get(context.Background(), "a0241w", RemotePassword)
	if err != nil || string(got) != "from-systemd" {
		t.Fatalf("%q, %v", got, err)
	}
}

func TestBadNames(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	for _, f := range []string{"../x", "a/b", "", "A", "x\n"} {
		if err := s.Put(context.Background(), f, RemotePassword, []byte("x")); err == nil {
			t.Errorf("Put(%q) accepted", f)
		}
	}
}
