package main

import (
	"io"
	"log/slog"

	"github.com/coreos/go-systemd/v22/journal"
)

// newLogger logs to w as slog text, or, when mailpull runs as a unit whose
// stderr is the journal, to journald with fields (journal.go).
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	if underJournal() && journal.Enabled() {
		return slog.New(&journalHandler{level: level})
	}
	opts := &slog.HandlerOptions{Level: level}
	if underJournal() {
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func underJournal() bool {
	ok, err := journal.StderrIsJournalStream()
	return err == nil && ok
}
