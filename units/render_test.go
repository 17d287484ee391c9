package units

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailpull/mailpull/task"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func timerTask(schedule string) task.Task {
	t := task.New()
	t.ID, t.Schedule = "a0241w", schedule
	return t
}

func TestTimerGolden(t *testing.T) {
	for name, schedule := range map[string]string{"interval": "15m", "hours": "2h", "calendar": "Mon..Fri *-*-* 08:00"} {
		got, err := Timer(timerTask(schedule))
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", name+".timer")
		if *update {
			os.WriteFile(golden, got, 0o644)
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil || string(want) != string(got) {
			t.Errorf("%s: got\n%s\nwant\n%s", name, got, want)
		}
	}
}

func TestManualTaskHasNoTimer(t *testing.T) {
	got, err := Timer(timerTask("manual"))
	if err != nil || got != nil {
		t.Fatalf("%q, %v", got, err)
	}
}

// Nothing a user could type gets past the task model into a unit file; and
// should it, the renderer refuses it.
func TestTimerRefusesInjection(t *testing.T) {
	for _, s := range []string{"daily\nExecStartPre=/bin/sh", "%h", "a\\b"} {
		if _, err := Timer(timerTask(s)); err == nil {
			t.Errorf("schedule %q rendered", s)
		}
	}
	bad := timerTask("daily")
	bad.ID = "../x"
	if _, err := Timer(bad); err == nil {
		t.Error("bad id rendered")
	}
}

func TestTimerStartsWithHeader(t *testing.T) {
	got, _ := Timer(timerTask("5m"))
	if !strings.HasPrefix(string(got), Header+"\n# Task a0241w") {
		t.Errorf("no header:\n%s", got)
	}
}
