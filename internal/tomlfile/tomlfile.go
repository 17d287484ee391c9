// Package tomlfile decodes the TOML files an admin writes (the configuration
// and the task files) strictly: every unknown key is an error, and every
// error names the file and line, so that one run of a check lists all that
// is wrong.
package tomlfile

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Error is a problem at a line of a file.
type Error struct {
	File string
	Line int // 0 when the problem has no single line
	Err  error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Decode decodes data into v, refusing unknown keys. All unknown keys are
// reported at once, joined, each as an *Error.
func Decode(file string, data []byte, v any) error {
	err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(v)
	var strict *toml.StrictMissingError
	var derr *toml.DecodeError
	switch {
	case errors.As(err, &strict):
		var errs []error
		for i := range strict.Errors {
			e := &strict.Errors[i]
			row, _ := e.Position()
			errs = append(errs, &Error{File: file, Line: row, Err: fmt.Errorf("unknown key %q", strings.Join(e.Key(), "."))})
		}
		return errors.Join(errs...)
	case errors.As(err, &derr):
		row, _ := derr.Position()
		return &Error{File: file, Line: row, Err: errors.New(derr.Error())}
	case err != nil:
		return &Error{File: file, Err: err}
	}
	return nil
}

// KeyError is a bad value under a key, dotted for tables ("dovecot.imap").
type KeyError struct {
	Key string
	Err error
}

func (e *KeyError) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *KeyError) Unwrap() error { return e.Err }

// Locate turns the errors of a validation (joined or not) into *Error values
// with the line of their key, when they are *KeyError values.
func Locate(file string, data []byte, err error) error {
	if err == nil {
		return nil
	}
	lines := Lines(data)
	var errs []error
	for _, e := range Split(err) {
		line := 0
		var ke *KeyError
		if errors.As(e, &ke) {
			line = lines[ke.Key]
		}
		errs = append(errs, &Error{File: file, Line: line, Err: e})
	}
	return errors.Join(errs...)
}

// Split returns the errors joined in err, or err alone.
func Split(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// Lines maps each key of a document, dotted under its table, to its line.
func Lines(data []byte) map[string]int {
	lines := map[string]int{}
	var p unstable.Parser
	p.Reset(data)
	table := ""
	for p.NextExpression() {
		n := p.Expression()
		switch n.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = dotted(n.Key()) + "."
		case unstable.KeyValue:
			it := n.Key()
			if it.Next() {
				lines[table+dotted(n.Key())] = 1 + bytes.Count(data[:p.Shape(it.Node().Raw).Start.Offset], []byte("\n"))
			}
		}
	}
	return lines
}

func dotted(it unstable.Iterator) string {
	var parts []string
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return strings.Join(parts, ".")
}
