package units

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/coreos/go-systemd/v22/unit"
)

// CredentialDropIn renders a drop-in of the template mailpull-sync@.service
// that hands every run one more encrypted credential. The shipped template
// cannot name it itself: a LoadCredentialEncrypted= whose file is missing
// fails the run, and only some hosts have this credential.
func CredentialDropIn(name, path string) ([]byte, error) {
	value := name + ":" + path
	if err := checkValue(value); err != nil {
		return nil, err
	}
	opts := []*unit.UnitOption{unit.NewUnitOption("Service", "LoadCredentialEncrypted", value)}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n# Every run of a task reads the credential %s from %s.\n", Header, name, path)
	if _, err := io.Copy(&b, unit.Serialize(escape(opts))); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// DropInPath is where the drop-in of the credential name goes.
func (m *Manager) DropInPath(name string) string {
	return filepath.Join(m.Dir, "mailpull-sync@.service.d", name+".conf")
}

// AddCredential writes the credential's drop-in and reloads systemd when
// the file changed.
func (m *Manager) AddCredential(ctx context.Context, name, path string) error {
	data, err := CredentialDropIn(name, path)
	if err != nil {
		return fmt.Errorf("credential %s: %w", name, err)
	}
	changed, err := putFile(m.DropInPath(name), data)
	if err != nil || !changed {
		return err
	}
	return m.Conn.ReloadContext(ctx)
}

// RemoveCredential deletes the credential's drop-in, if mailpull wrote it.
func (m *Manager) RemoveCredential(ctx context.Context, name string) error {
	file := m.DropInPath(name)
	if !generated(file) {
		return nil
	}
	if err := removeDropIn(file); err != nil {
		return err
	}
	return m.Conn.ReloadContext(ctx)
}
