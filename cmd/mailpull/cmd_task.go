package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/mailpull/mailpull/creds"
	"github.com/mailpull/mailpull/ldapusers"
	"github.com/mailpull/mailpull/masteruser"
	"github.com/mailpull/mailpull/sync/remote"
	"github.com/mailpull/mailpull/task"
	"github.com/mailpull/mailpull/units"
)

func runTask(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(e.stdout, taskHelp)
		if len(args) == 0 {
			return usageErrorf("task: which one? add, edit, rm, list or show")
		}
		return nil
	}
	sub, ok := taskSubcommands()[args[0]]
	if !ok {
		return usageErrorf("task: unknown subcommand %q (add, edit, rm, list, show)", args[0])
	}
	return sub.run(ctx, e, args[1:])
}

// taskSubcommand is one of the task commands.
type taskSubcommand struct {
	args, summary string
	run           func(context.Context, *env, []string) error
}

// taskSubcommands are the task commands, for dispatch and help. A function,
// not a variable: the commands print their help from it.
func taskSubcommands() map[string]taskSubcommand {
	return map[string]taskSubcommand{
		"add": {"--local-user U --host H --user R (--password-file F | --password-stdin) [flags]",
			"add a task; the remote login and the local user are checked first. Prints the new task id.", runTaskAdd},
		"edit": {"ID [flags]", "change a task; only the flags given change, and the task is checked again.", runTaskEdit},
		"rm":   {"[--purge] ID", "remove a task and its credential; --purge also its ledger.", runTaskRm},
		"list": {"[--json]", "list the tasks.", runTaskList},
		"show": {"[--json] ID", "show one task as its file says it.", runTaskShow},
	}
}

const taskHelp = `usage: mailpull task add --local-user U --host H --user R (--password-file F | --password-stdin) [flags]
       mailpull task edit ID [flags]
       mailpull task rm [--purge] ID
       mailpull task list [--json]
       mailpull task show [--json] ID

A task pulls one remote account into one local user. "mailpull task add
--help" lists the flags of add and edit.
`

// taskEnv is what the task commands work with.
type taskEnv struct {
	cfg   Config
	store task.Store
	creds creds.Store
}

func (e *env) tasks() (taskEnv, error) {
	cfg, _, err := e.config()
	if err != nil {
		return taskEnv{}, err
	}
	return taskEnv{cfg: cfg, store: task.Store{Dir: cfg.TasksDir}, creds: creds.Store{Dir: cfg.CredentialsDir}}, nil
}

func runTaskAdd(ctx context.Context, e *env, args []string) error {
	f := newTaskFlags("task add", task.New())
	id := f.fs.String("id", "", "the task id (six characters a-z 0-9; default: a new one)")
	if err := parseTaskFlags(e, f, args, 0); err != nil {
		return err
	}
	te, err := e.tasks()
	if err != nil {
		return err
	}
	f.t.ID = *id
	if f.t.ID == "" {
		f.t.ID = te.store.NewUniqueID()
	} else if _, err := te.store.Load(f.t.ID); !errors.Is(err, task.ErrNotFound) {
		return usageErrorf("task add: id %s is taken", f.t.ID)
	}
	pw, err := f.password(e.stdin)
	if err != nil {
		return err
	}
	if pw == nil {
		return usageErrorf("task add: %v", errNoPassword)
	}
	if err := te.save(ctx, e, f.t, pw, !f.noCheck); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, f.t.ID)
	return nil
}

func runTaskEdit(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		return parse(e, newTaskFlags("task edit", task.New()).fs, args)
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageErrorf("task edit: the task id comes first")
	}
	te, err := e.tasks()
	if err != nil {
		return err
	}
	t, err := te.store.Load(args[0])
	if err != nil {
		return taskLoadError(err)
	}
	f := newTaskFlags("task edit", t)
	if err := parseTaskFlags(e, f, args[1:], 0); err != nil {
		return err
	}
	pw, err := f.password(e.stdin)
	if err != nil {
		return err
	}
	if pw == nil && !f.noCheck {
		if pw, err = te.creds.Get(ctx, t.ID, creds.RemotePassword); err != nil {
			return err
		}
	}
	return te.save(ctx, e, f.t, pw, !f.noCheck)
}

func parseTaskFlags(e *env, f *taskFlags, args []string, nargs int) error {
	if err := parse(e, f.fs, args); err != nil {
		return err
	}
	if f.fs.NArg() != nargs {
		return usageErrorf("%s: unexpected argument %q", f.fs.Name(), f.fs.Arg(nargs))
	}
	return f.apply()
}

// save validates, checks (log in to the remote, look up the local user),
// then stores the password and the task. Nothing is saved on failure.
func (te taskEnv) save(ctx context.Context, e *env, t task.Task, pw []byte, check bool) error {
	if err := t.Validate(); err != nil {
		return &exitError{code: ExitUsage, err: fmt.Errorf("task %s: %s", t.ID, strings.ReplaceAll(err.Error(), "\n", "; "))}
	}
	if check {
		if err := te.check(ctx, t, pw); err != nil {
			return fmt.Errorf("task %s not saved: %w", t.ID, err)
		}
	}
	if pw != nil {
		if err := te.creds.Put(ctx, t.ID, creds.RemotePassword, pw); err != nil {
			return err
		}
	}
	if err := te.store.Save(t); err != nil {
		return err
	}
	e.log.Info("task saved", "task", t.ID, "local_user", t.LocalUser, "remote", t.RemoteUser+"@"+t.Host)
	return te.applyUnits(ctx, e, t)
}

func (te taskEnv) check(ctx context.Context, t task.Task, pw []byte) error {
	if sc, _ := task.ParseSchedule(t.Schedule); sc.Calendar != "" {
		if err := task.CheckCalendar(ctx, sc.Calendar); err != nil && !errors.Is(err, task.ErrNoAnalyzer) {
			return &exitError{code: ExitUsage, err: err}
		}
	}
	if err := te.checkLocalUser(ctx, t.LocalUser); err != nil {
		return err
	}
	c, err := remote.Dial(ctx, remoteConfig(t, pw))
	if err != nil {
		return err
	}
	return c.Close()
}

// checkLocalUser looks the user up in LDAP, or without LDAP asks Dovecot
// through a master login.
func (te taskEnv) checkLocalUser(ctx context.Context, login string) error {
	if te.cfg.LDAP == nil {
		mcfg, err := te.cfg.masterConfig(ctx)
		if err != nil {
			return err
		}
		return masteruser.Check(ctx, mcfg, login)
	}
	dir, err := te.cfg.LDAP.directory(te.cfg.CredentialsDir)
	if err != nil {
		return configError(err)
	}
	_, err = ldapusers.Lookup(ctx, dir, login)
	return err
}

// remoteConfig is the remote session a task describes.
// remoteConfig is how a run reaches the task's remote. Under systemd the CA
// file is the copy that the task's drop-in hands over: the run's dynamic
// user may not read the original.
func remoteConfig(t task.Task, pw []byte) remote.Config {
	ca := t.TLSCA
	if c := credential(units.TLSCAName); ca != "" && c != "" {
		ca = c
	}
	return remote.Config{Host: t.Host, Port: t.Port, Security: t.Security, CAFile: ca,
		Insecure: t.TLSInsecure, Fingerprint: t.TLSFingerprint, User: t.RemoteUser, Password: string(pw),
		Version: versionString()}
}

// oneTask loads the task a command names as its only argument.
func (e *env) oneTask(fs *flag.FlagSet) (taskEnv, task.Task, error) {
	if fs.NArg() != 1 {
		return taskEnv{}, task.Task{}, usageErrorf("%s: want one task id", fs.Name())
	}
	te, err := e.tasks()
	if err != nil {
		return te, task.Task{}, err
	}
	t, err := te.store.Load(fs.Arg(0))
	if err != nil {
		return te, t, taskLoadError(err)
	}
	return te, t, nil
}

func taskLoadError(err error) error {
	if errors.Is(err, task.ErrNotFound) {
		return usageErrorf("%v", err)
	}
	return configError(err)
}

func runTaskRm(ctx context.Context, e *env, args []string) error {
	fs := newFlags("task rm")
	purge := fs.Bool("purge", false, "also delete the task's ledger (its record of copied messages)")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("task rm: want one task id")
	}
	te, err := e.tasks()
	if err != nil {
		return err
	}
	id := fs.Arg(0)
	if err := te.store.Remove(id); err != nil {
		return taskLoadError(err)
	}
	if err := te.creds.Remove(id); err != nil {
		return err
	}
	if err := te.removeUnits(ctx, e, id); err != nil {
		return err
	}
	if *purge {
		if err := os.Remove(filepath.Join(te.cfg.StateDir, id+".db")); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	e.log.Info("task removed", "task", id, "ledger_purged", *purge)
	return nil
}

func runTaskList(ctx context.Context, e *env, args []string) error {
	fs := newFlags("task list")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	te, err := e.tasks()
	if err != nil {
		return err
	}
	tasks, err := te.store.List()
	if err != nil {
		fmt.Fprintf(e.stderr, "mailpull: %v\n", err) // list what loads, report the rest
	}
	if *asJSON {
		return writeJSON(e.stdout, tasksOrEmpty(tasks))
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tLOCAL USER\tREMOTE\tFOLDERS\tSCHEDULE")
	for _, t := range tasks {
		fmt.Fprintf(tw, "%s\t%s\t%s@%s:%d\t%s\t%s\n", t.ID, t.LocalUser, t.RemoteUser, t.Host, t.Port, t.Folders, t.Schedule)
	}
	if ferr := tw.Flush(); ferr != nil {
		return ferr
	}
	if err != nil {
		return configError(errors.New("some task files could not be read"))
	}
	return nil
}

func tasksOrEmpty(t []task.Task) []task.Task {
	if t == nil {
		return []task.Task{}
	}
	return t
}

func runTaskShow(ctx context.Context, e *env, args []string) error {
	fs := newFlags("task show")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	_, t, err := e.oneTask(fs)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, t)
	}
	data, err := task.Encode(t)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(data)
	return err
}
