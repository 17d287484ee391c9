package main

import (
	"log/slog"
	"testing"
)

func TestJournalFieldNames(t *testing.T) {
	for key, want := range map[string]string{"task": "MAILPULL_TASK", "user": "MAILPULL_USER", "timers_on": "MAILPULL_TIMERS_ON",
		"dry-run": "MAILPULL_DRY_RUN", "ünï": "MAILPULL__N_"} {
		if got := fieldName(key); got != want {
			t.Errorf("%q → %q, want %q", key, got, want)
		}
	}
	if priority(slog.LevelWarn) != 4 || priority(slog.LevelError) != 3 || priority(slog.LevelInfo) != 6 {
		t.Error("priorities")
	}
}
