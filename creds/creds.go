// Package creds keeps secrets (a task's remote password, the Dovecot master
// password, the LDAP bind password) encrypted at rest with systemd-creds:
// the host key, and the TPM2 where there is one. A secret goes to and comes
// from systemd-creds on a pipe, never in argv or the environment. A unit
// started by systemd receives the decrypted secret in $CREDENTIALS_DIRECTORY
// (LoadCredentialEncrypted=), which Get reads first.
package creds

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Names of the credentials, as the units' LoadCredentialEncrypted= lines
// name them; systemd refuses a file whose embedded name differs.
const (
	RemotePassword = "remote-password"
	MasterPassword = "master-password"
	LDAPPassword   = "ldap-password"
)

// ErrNotFound is returned for a credential that was never stored.
var ErrNotFound = errors.New("no such credential")

// Store is a directory of encrypted credential files, <file>.cred, 0600.
type Store struct {
	Dir string
}

var fileRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// Path is the file that holds a credential; file is a task id or a fixed
// word such as "master".
func (s Store) Path(file string) string { return filepath.Join(s.Dir, file+".cred") }

// Put encrypts secret under name into file.
func (s Store) Put(ctx context.Context, file, name string, secret []byte) error {
	if !fileRe.MatchString(file) || !fileRe.MatchString(name) {
		return fmt.Errorf("credential %q/%q: bad name", file, name)
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return err
	}
	// systemd-creds writes the output file itself; it goes to a temporary
	// name first so that a failure leaves the old credential in place.
	tmp := s.Path(file) + ".new"
	defer os.Remove(tmp)
	if _, err := run(ctx, bytes.NewReader(secret), "encrypt", "--name="+name, "-", tmp); err != nil {
		return fmt.Errorf("encrypt credential %s: %w", file, err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.Path(file))
}

// Get returns the secret: from $CREDENTIALS_DIRECTORY/<name> when systemd
// handed it over, else decrypted from the store.
func (s Store) Get(ctx context.Context, file, name string) ([]byte, error) {
	if dir := os.Getenv("CREDENTIALS_DIRECTORY"); dir != "" {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("credential %s: %w", name, err)
		}
	}
	if _, err := os.Stat(s.Path(file)); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("credential %s: %w", file, ErrNotFound)
	}
	out, err := run(ctx, nil, "decrypt", "--name="+name, s.Path(file), "-")
	if err != nil {
		return nil, fmt.Errorf("decrypt credential %s: %w", file, err)
	}
	return out, nil
}

// Remove deletes a credential; a missing one is not an error.
func (s Store) Remove(file string) error {
	err := os.Remove(s.Path(file))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// run calls systemd-creds with stdin and returns its stdout. Its stderr
// becomes the error: it never holds the secret.
func run(ctx context.Context, stdin *bytes.Reader, args ...string) ([]byte, error) {
	bin, err := exec.LookPath("systemd-creds")
	if err != nil {
		return nil, errors.New("systemd-creds not found (package systemd)")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("systemd-creds %s: %v: %s", args[0], err, lastLine(errOut.String()))
	}
	return out.Bytes(), nil
}

// lastLine drops systemd-creds' warnings (such as "not located on encrypted
// media") that precede the actual error.
func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		return s[i+1:]
	}
	return s
}
