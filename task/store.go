package task

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/mailpull/mailpull/internal/atomicfile"
	"github.com/mailpull/mailpull/internal/tomlfile"
)

// Store keeps one file per task, <id>.toml, in Dir. Files are root-only
// (0600 in a 0700 directory) and written atomically.
type Store struct {
	Dir string
}

// ErrNotFound is returned for a task id that has no file.
var ErrNotFound = errors.New("no such task")

func (s Store) path(id string) string { return filepath.Join(s.Dir, id+".toml") }

// Load reads and validates one task.
func (s Store) Load(id string) (Task, error) {
	if !ValidID(id) {
		return Task{}, fmt.Errorf("task %q: %w", id, ErrNotFound)
	}
	data, err := os.ReadFile(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return Task{}, fmt.Errorf("task %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Task{}, err
	}
	t, err := Parse(s.path(id), data)
	if err == nil && t.ID != id {
		err = &tomlfile.Error{File: s.path(id), Err: fmt.Errorf("id %q does not match the file name", t.ID)}
	}
	return t, err
}

// Parse decodes and validates a task file. Every problem is reported at once,
// each as a *tomlfile.Error with the line of the offending key.
func Parse(file string, data []byte) (Task, error) {
	var t Task
	if err := tomlfile.Decode(file, data, &t); err != nil {
		return t, err
	}
	return t, tomlfile.Locate(file, data, t.Validate())
}

// Save validates t and writes its file atomically.
func (s Store) Save(t Task) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("task %s: %w", t.ID, err)
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return err
	}
	data, err := Encode(t)
	if err != nil {
		return err
	}
	return atomicfile.Write(s.path(t.ID), data, 0o600)
}

// Encode renders a task file: a header, then every field with its comment.
func Encode(t Task) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# mailpull task %s: %s on %s into local user %s.\n", t.ID, t.RemoteUser, t.Host, t.LocalUser)
	b.WriteString("# Edit with `mailpull task edit`; the remote password is a credential, not in this file.\n\n")
	if err := toml.NewEncoder(&b).Encode(t); err != nil {
		return nil, fmt.Errorf("task %s: encode: %w", t.ID, err)
	}
	return b.Bytes(), nil
}

// Remove deletes a task's file.
func (s Store) Remove(id string) error {
	err := os.Remove(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("task %s: %w", id, ErrNotFound)
	}
	return err
}

// List loads every task, sorted by id. Files that fail to load are returned
// as errors next to the tasks that loaded.
func (s Store) List() ([]Task, error) {
	names, err := filepath.Glob(filepath.Join(s.Dir, "*.toml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var tasks []Task
	var errs []error
	for _, n := range names {
		t, err := s.Load(strings.TrimSuffix(filepath.Base(n), ".toml"))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		tasks = append(tasks, t)
	}
	return tasks, errors.Join(errs...)
}

// NewUniqueID returns an id that no task in the store has.
func (s Store) NewUniqueID() string {
	for {
		id := NewID()
		if _, err := os.Stat(s.path(id)); errors.Is(err, fs.ErrNotExist) {
			return id
		}
	}
}
