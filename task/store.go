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
	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/mailpull/mailpull/internal/atomicfile"
)

// Store keeps one file per task, <id>.toml, in Dir. Files are root-only
// (0600 in a 0700 directory) and written atomically.
type Store struct {
	Dir string
}

// ErrNotFound is returned for a task id that has no file.
var ErrNotFound = errors.New("no such task")

// FileError is a problem at a line of a task file.
type FileError struct {
	File string
	Line int // 0 when the problem has no single line
	Err  error
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

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
		err = &FileError{File: s.path(id), Err: fmt.Errorf("id %q does not match the file name", t.ID)}
	}
	return t, err
}

// Parse decodes and validates a task file. Every problem is reported at once,
// each as a *FileError with the line of the offending key.
func Parse(file string, data []byte) (Task, error) {
	t := Task{}
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	err := dec.Decode(&t)
	var strict *toml.StrictMissingError
	var derr *toml.DecodeError
	switch {
	case errors.As(err, &strict):
		var errs []error
		for i := range strict.Errors {
			e := &strict.Errors[i]
			row, _ := e.Position()
			errs = append(errs, &FileError{File: file, Line: row, Err: fmt.Errorf("unknown key %q", strings.Join(e.Key(), "."))})
		}
		return t, errors.Join(errs...)
	case errors.As(err, &derr):
		row, _ := derr.Position()
		return t, &FileError{File: file, Line: row, Err: errors.New(derr.Error())}
	case err != nil:
		return t, &FileError{File: file, Err: err}
	}
	return t, locate(file, data, t.Validate())
}

// locate turns the field errors of Validate into file errors with lines.
func locate(file string, data []byte, err error) error {
	if err == nil {
		return nil
	}
	lines := keyLines(data)
	var errs []error
	for _, e := range unjoin(err) {
		var fe *FieldError
		line := 0
		if errors.As(e, &fe) {
			line = lines[fe.Field]
		}
		errs = append(errs, &FileError{File: file, Line: line, Err: e})
	}
	return errors.Join(errs...)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// keyLines maps each top-level key of a TOML document to its line.
func keyLines(data []byte) map[string]int {
	lines := map[string]int{}
	p := unstable.Parser{KeepComments: false}
	p.Reset(data)
	for p.NextExpression() {
		n := p.Expression()
		if n.Kind != unstable.KeyValue {
			continue
		}
		k := n.Key()
		if !k.Next() {
			continue
		}
		key := k.Node()
		lines[string(key.Data)] = 1 + bytes.Count(data[:p.Shape(key.Raw).Start.Offset], []byte("\n"))
	}
	return lines
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
