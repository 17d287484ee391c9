package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/mailpull/mailpull/task"
)

// A run started by systemd (mailpull-sync@ID.service) is a dynamic user
// that cannot read /etc/mailpull: systemd hands it the config file, its
// task file and its passwords as credentials in $CREDENTIALS_DIRECTORY
// (config, task, remote-password, master-password). It tells systemd how
// far it got with STATUS=, and ends with its summary in the journal, with
// fields.

// credential returns the path of the credential name that systemd handed
// over, or "" when there is none.
func credential(name string) string {
	dir := os.Getenv("CREDENTIALS_DIRECTORY")
	if dir == "" {
		return ""
	}
	file := filepath.Join(dir, name)
	if _, err := os.Stat(file); err != nil {
		return ""
	}
	return file
}

// loadRun reads the task a run is for: the task credential when systemd
// handed one over (it must be task id), else the task store.
func (te taskEnv) loadRun(id string) (task.Task, error) {
	file := credential("task")
	if file == "" {
		t, err := te.store.Load(id)
		if err != nil {
			return t, taskLoadError(err)
		}
		return t, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return task.Task{}, configError(fmt.Errorf("task %s: credential: %w", id, err))
	}
	// Errors name the file the admin edits, not the credential's copy.
	t, err := task.Parse(filepath.Join(te.cfg.TasksDir, id+".toml"), data)
	if err != nil {
		return t, configError(err)
	}
	if t.ID != id {
		return t, configError(fmt.Errorf("task %s: the task credential is task %s", id, t.ID))
	}
	return t, nil
}

// notifyStatus sets the run's STATUS= line, when systemd listens.
func notifyStatus(format string, args ...any) {
	_, _ = daemon.SdNotify(false, "STATUS="+fmt.Sprintf(format, args...))
}

// runCounts are the fields every summary line carries, whatever the mode.
type runCounts struct {
	copied, skipped, deleted, errors, exitCode int
	seconds                                    float64
}

// logSummary ends a run under the journal: one line with fields
// (MAILPULL_COPIED, MAILPULL_SKIPPED, MAILPULL_DELETED, MAILPULL_ERRORS,
// MAILPULL_EXIT_CODE, and the task and user) instead of the printed
// summary; extra are the mode's own counts.
func logSummary(e *env, id, user string, c runCounts, err error, extra ...any) {
	level := slog.LevelInfo
	switch {
	case c.exitCode == ExitPartial:
		level = slog.LevelWarn
	case c.exitCode != ExitOK:
		level = slog.LevelError
	}
	args := []any{"task", id, "user", user, "copied", c.copied, "skipped", c.skipped, "deleted", c.deleted,
		"errors", c.errors, "exit_code", c.exitCode, "seconds", fmt.Sprintf("%.1f", c.seconds)}
	args = append(args, extra...)
	if err != nil {
		args = append(args, "err", oneLine(err))
	}
	e.log.Log(context.Background(), level, "run finished", args...)
	notifyStatus("finished: copied %d, skipped %d, deleted %d, errors %d, exit %d", c.copied, c.skipped, c.deleted, c.errors, c.exitCode)
}

// loggedError is an error the run's summary already logged: main does not
// print it again, so that the summary stays the run's last line.
type loggedError struct{ err error }

func (l *loggedError) Error() string { return l.err.Error() }
func (l *loggedError) Unwrap() error { return l.err }
