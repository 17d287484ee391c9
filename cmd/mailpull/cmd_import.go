package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"

	"github.com/mailpull/mailpull/task"
)

func runImportCSV(ctx context.Context, e *env, args []string) error {
	fs := newFlags("import-csv")
	check := fs.Bool("check", false, "validate every row and report each problem; create nothing")
	update := fs.Bool("update", false, "update the tasks that exist for the same local user, remote user and host")
	noCheck := fs.Bool("no-check", false, "save without logging in to the remote or checking the local user")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	in, name, err := csvInput(e, fs.Args())
	if err != nil {
		return err
	}
	defer in.Close()
	rows, err := task.ParseCSV(in)
	if err != nil {
		return usageErrorf("%s: %v", name, err)
	}
	if *check {
		return checkRows(e, name, rows)
	}
	te, err := e.tasks()
	if err != nil {
		return err
	}
	return te.importRows(ctx, e, name, rows, *update, !*noCheck)
}

func csvInput(e *env, args []string) (io.ReadCloser, string, error) {
	switch len(args) {
	case 0:
		return io.NopCloser(e.stdin), "stdin", nil
	case 1:
		f, err := os.Open(args[0])
		if err != nil {
			return nil, "", usageErrorf("import-csv: %v", err)
		}
		return f, args[0], nil
	}
	return nil, "", usageErrorf("import-csv: at most one file")
}

// checkRows reports every problem of every row, with its line; it creates
// nothing.
func checkRows(e *env, name string, rows []task.CSVRow) error {
	bad := 0
	for _, r := range rows {
		if r.Err == nil {
			continue
		}
		bad++
		for _, msg := range strings.Split(r.Err.Error(), "\n") {
			fmt.Fprintf(e.stdout, "%s:%d: %s\n", printable(name), r.Line, msg)
		}
	}
	fmt.Fprintf(e.stdout, "%d rows, %d valid, %d with problems; nothing was created (--check)\n", len(rows), len(rows)-bad, bad)
	if bad > 0 {
		return &exitError{code: ExitUsage, err: fmt.Errorf("%s: %d rows with problems", name, bad)}
	}
	return nil
}

// importRows creates (or with update, updates) one task per row. A failing
// row does not stop the others; passwords are never echoed.
func (te taskEnv) importRows(ctx context.Context, e *env, name string, rows []task.CSVRow, update, check bool) error {
	existing, err := te.store.List()
	if err != nil {
		return configError(err)
	}
	var created, updated, unchanged, failed int
	for _, r := range rows {
		what, err := te.importRow(ctx, e, r, existing, update, check)
		switch {
		case err != nil:
			failed++
			fmt.Fprintf(e.stdout, "%s:%d: %s: failed: %s\n", printable(name), r.Line, printable(r.Task.LocalUser), oneLine(err))
			continue
		case strings.HasPrefix(what, "created"):
			created++
		case strings.HasPrefix(what, "updated"):
			updated++
		default:
			unchanged++
		}
		fmt.Fprintf(e.stdout, "%s:%d: %s: %s\n", printable(name), r.Line, printable(r.Task.LocalUser), what)
	}
	fmt.Fprintf(e.stdout, "%d created, %d updated, %d already there, %d failed\n", created, updated, unchanged, failed)
	if failed > 0 {
		return &exitError{code: ExitPartial, err: fmt.Errorf("%s: %d rows failed", name, failed)}
	}
	return nil
}

func (te taskEnv) importRow(ctx context.Context, e *env, r task.CSVRow, existing []task.Task, update, check bool) (string, error) {
	if r.Err != nil {
		return "", r.Err
	}
	t := r.Task
	for _, old := range existing {
		if !old.SameAccount(t) {
			continue
		}
		if !update {
			return "already there as task " + old.ID, nil
		}
		t.ID = old.ID
		return "updated task " + t.ID, te.save(ctx, e, t, r.Password, check)
	}
	if t.ID == "" {
		t.ID = te.store.NewUniqueID()
	}
	return "created task " + t.ID, te.save(ctx, e, t, r.Password, check)
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// printable is s as typed when it is plain text, else quoted with escapes:
// a value from a file must not add a line or a control character to the
// report.
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
