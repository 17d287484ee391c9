package task

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Schedule is when a task runs: never by itself (the zero value), every
// Interval, or on a systemd calendar expression.
type Schedule struct {
	Interval time.Duration
	Calendar string
}

// Manual reports whether the task runs only when started by hand.
func (s Schedule) Manual() bool { return s.Interval == 0 && s.Calendar == "" }

var (
	intervalRe = regexp.MustCompile(`^([0-9]{1,5})([mh])$`)
	// unitRe catches intervals in units we do not take ("30s", "1d"),
	// which would otherwise pass for calendar expressions.
	unitRe = regexp.MustCompile(`^[0-9]+[A-Za-z]+$`)
	// calendarRe admits what systemd calendar expressions are made of and
	// nothing that could change a unit file's meaning: no newline, no %, no
	// backslash, no quote, no ';'.
	calendarRe = regexp.MustCompile(`^[A-Za-z0-9 ,:*./~+-]{1,128}$`)
)

// maxInterval keeps an interval sane; a week covers every real use.
const maxInterval = 7 * 24 * time.Hour

// ParseSchedule parses "manual", "Nm", "Nh" or a calendar expression. A
// calendar expression is only checked for its characters here; see
// CheckCalendar for the full check.
func ParseSchedule(s string) (Schedule, error) {
	if s == ScheduleManual || s == "" {
		return Schedule{}, nil
	}
	if m := intervalRe.FindStringSubmatch(s); m != nil {
		return parseInterval(s, m[1], m[2])
	}
	if unitRe.MatchString(s) || !calendarRe.MatchString(s) || strings.TrimSpace(s) != s {
		return Schedule{}, fmt.Errorf("schedule %q: want manual, minutes (5m), hours (2h) or a systemd calendar expression", s)
	}
	return Schedule{Calendar: s}, nil
}

func parseInterval(s, num, unit string) (Schedule, error) {
	n, _ := strconv.Atoi(num)
	d := time.Duration(n) * time.Minute
	if unit == "h" {
		d = time.Duration(n) * time.Hour
	}
	if n == 0 || d > maxInterval {
		return Schedule{}, fmt.Errorf("schedule %q: the interval must be between 1m and 168h", s)
	}
	return Schedule{Interval: d}, nil
}

// String gives the schedule back in the syntax ParseSchedule reads.
func (s Schedule) String() string {
	switch {
	case s.Calendar != "":
		return s.Calendar
	case s.Interval == 0:
		return ScheduleManual
	case s.Interval%time.Hour == 0:
		return strconv.Itoa(int(s.Interval/time.Hour)) + "h"
	}
	return strconv.Itoa(int(s.Interval/time.Minute)) + "m"
}

// ErrNoAnalyzer is returned by CheckCalendar where systemd-analyze is missing.
var ErrNoAnalyzer = errors.New("systemd-analyze not found")

// CheckCalendar asks systemd-analyze whether expr is a calendar expression
// systemd accepts. The expression is passed as one argument, never through
// a shell.
func CheckCalendar(ctx context.Context, expr string) error {
	bin, err := exec.LookPath("systemd-analyze")
	if err != nil {
		return ErrNoAnalyzer
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "calendar", "--", expr).CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if i := strings.LastIndex(msg, "\n"); i >= 0 {
			msg = msg[i+1:]
		}
		return fmt.Errorf("schedule %q: systemd does not accept it: %s", expr, msg)
	}
	return nil
}
