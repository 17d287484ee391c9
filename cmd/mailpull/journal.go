package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/coreos/go-systemd/v22/journal"
)

// journalHandler sends each record to journald with its attributes as
// fields, so that "journalctl MAILPULL_USER=alice" finds a user's runs:
// task → MAILPULL_TASK, user → MAILPULL_USER, any other key k →
// MAILPULL_K. The message keeps the attributes too, for plain journalctl.
type journalHandler struct {
	level slog.Level
	attrs []slog.Attr
}

func (h *journalHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *journalHandler) Handle(_ context.Context, r slog.Record) error {
	fields := map[string]string{"SYSLOG_IDENTIFIER": "mailpull"}
	var text strings.Builder
	text.WriteString(r.Message)
	add := func(a slog.Attr) bool {
		v := a.Value.Resolve().String()
		fields[fieldName(a.Key)] = v
		fmt.Fprintf(&text, " %s=%s", a.Key, quoteIfNeeded(v))
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	return journal.Send(text.String(), priority(r.Level), fields)
}

func (h *journalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &journalHandler{level: h.level, attrs: append(append([]slog.Attr{}, h.attrs...), as...)}
}

// WithGroup is not used by mailpull; groups flatten into the field names.
func (h *journalHandler) WithGroup(string) slog.Handler { return h }

// fieldName makes a journal field name: [A-Z0-9_], not starting with _.
func fieldName(key string) string {
	var b strings.Builder
	b.WriteString("MAILPULL_")
	for _, r := range strings.ToUpper(key) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func quoteIfNeeded(v string) string {
	if v == "" || strings.ContainsAny(v, " \t\"=") {
		return fmt.Sprintf("%q", v)
	}
	return v
}

func priority(l slog.Level) journal.Priority {
	switch {
	case l >= slog.LevelError:
		return journal.PriErr
	case l >= slog.LevelWarn:
		return journal.PriWarning
	case l >= slog.LevelInfo:
		return journal.PriInfo
	}
	return journal.PriDebug
}
