package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/mailpull/mailpull/task"
	"github.com/mailpull/mailpull/units"
)

// manager connects to systemd for the commands that need it.
func (te taskEnv) manager(ctx context.Context) (*units.Manager, error) {
	m, err := units.Connect(ctx, te.cfg.Systemd.UnitDir)
	if errors.Is(err, units.ErrNoSystemd) {
		return nil, &exitError{code: ExitUnavailable, err: fmt.Errorf("%w: use \"mailpull sync ID\" to run a task in the foreground", err)}
	}
	return m, err
}

// ids are the tasks a control command acts on: the one named, or all.
func (te taskEnv) ids(args []string, all bool) ([]string, error) {
	if !all {
		if _, err := te.store.Load(args[0]); err != nil {
			return nil, taskLoadError(err)
		}
		return args, nil
	}
	tasks, err := te.store.List()
	var ids []string
	for _, t := range tasks {
		ids = append(ids, t.ID)
	}
	return ids, err
}

func runStart(ctx context.Context, e *env, args []string) error {
	return control(ctx, e, "start", args, false, (*units.Manager).Start)
}
func runStop(ctx context.Context, e *env, args []string) error {
	return control(ctx, e, "stop", args, false, (*units.Manager).Stop)
}
func runStartAll(ctx context.Context, e *env, args []string) error {
	return control(ctx, e, "start-all", args, true, (*units.Manager).Start)
}
func runStopAll(ctx context.Context, e *env, args []string) error {
	return control(ctx, e, "stop-all", args, true, (*units.Manager).Stop)
}

// control starts or stops runs through systemd, so that the unit's sandbox,
// credentials and journal apply, as with systemctl.
func control(ctx context.Context, e *env, name string, args []string, all bool,
	act func(*units.Manager, context.Context, string) error) error {
	fs := newFlags(name)
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if want := map[bool]int{true: 0, false: 1}[all]; fs.NArg() != want {
		return usageErrorf("%s: want %d task id(s)", name, want)
	}
	te, err := e.tasks()
	if err != nil {
		return err
	}
	ids, err := te.ids(fs.Args(), all)
	if err != nil {
		return err
	}
	m, err := te.manager(ctx)
	if err != nil {
		return err
	}
	defer m.Close()
	for _, id := range ids {
		if err := act(m, ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s: %s\n", id, map[bool]string{true: "started", false: "stopped"}[name == "start" || name == "start-all"])
	}
	return nil
}

type statusJSON struct {
	Task       string     `json:"task"`
	LocalUser  string     `json:"local_user"`
	Timer      bool       `json:"timer"`
	Running    bool       `json:"running"`
	Progress   string     `json:"progress,omitempty"`
	LastResult string     `json:"last_result,omitempty"`
	ExitCode   int        `json:"exit_code"`
	LastRun    *time.Time `json:"last_run,omitempty"`
	NextRun    *time.Time `json:"next_run,omitempty"`
}

func runStatus(ctx context.Context, e *env, args []string) error {
	fs := newFlags("status")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	te, err := e.tasks()
	if err != nil {
		return err
	}
	tasks, err := te.statusTasks(fs.Args())
	if err != nil {
		return err
	}
	m, err := te.manager(ctx)
	if err != nil {
		return err
	}
	defer m.Close()
	var out []statusJSON
	for _, t := range tasks {
		s, err := m.State(ctx, t.ID)
		if err != nil {
			return err
		}
		out = append(out, statusOf(t, s))
	}
	if *asJSON {
		return writeJSON(e.stdout, out)
	}
	printStatus(e, out)
	return nil
}

func (te taskEnv) statusTasks(args []string) ([]task.Task, error) {
	if len(args) > 1 {
		return nil, usageErrorf("status: at most one task id")
	}
	if len(args) == 1 {
		t, err := te.store.Load(args[0])
		if err != nil {
			return nil, taskLoadError(err)
		}
		return []task.Task{t}, nil
	}
	return te.store.List()
}

func statusOf(t task.Task, s units.State) statusJSON {
	j := statusJSON{Task: t.ID, LocalUser: t.LocalUser, Timer: s.TimerOn, Running: s.Running, Progress: s.Status,
		LastResult: s.LastResult, ExitCode: s.ExitCode}
	if !s.LastRun.IsZero() {
		j.LastRun = &s.LastRun
	}
	if !s.NextRun.IsZero() {
		j.NextRun = &s.NextRun
	}
	return j
}

func printStatus(e *env, rows []statusJSON) {
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tTIMER\tRUNNING\tLAST RESULT\tLAST RUN\tNEXT RUN")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Task, r.LocalUser, onOff(r.Timer), running(r),
			lastResult(r), when(r.LastRun), when(r.NextRun))
	}
	tw.Flush()
}

func onOff(b bool) string { return map[bool]string{true: "on", false: "off"}[b] }

func running(r statusJSON) string {
	if !r.Running {
		return "no"
	}
	if r.Progress != "" {
		return r.Progress
	}
	return "yes"
}

func lastResult(r statusJSON) string {
	if r.LastResult == "" {
		return "-"
	}
	return fmt.Sprintf("%s (exit %d)", r.LastResult, r.ExitCode)
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}
