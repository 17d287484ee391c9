package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// env is what a command may touch of the outside world; tests replace it.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	log            *slog.Logger
	configFlag     string // --config, empty when not given
	// journal is set when stderr is the journal (a unit): a run then logs
	// its summary with fields instead of printing it.
	journal bool
}

// config loads the configuration file that --config, MAILPULL_CONFIG or the
// default names.
func (e *env) config() (Config, string, error) {
	file := configFile(e.configFlag)
	named := e.configFlag != "" || os.Getenv("MAILPULL_CONFIG") != ""
	cfg, err := loadConfig(file, named)
	return cfg, file, err
}

// command is one subcommand. run gets the arguments after the command name.
type command struct {
	name    string
	args    string // synopsis of the arguments, for help
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// commands is the visible list of what mailpull can do, in help order.
func commands() []command {
	return []command{
		{"config", "check", "check the configuration file and report every problem in it", runConfig},
		{"task", "add|edit|rm|list|show ...", "manage the sync tasks", runTask},
		{"import-csv", "[--check] [--update] [FILE]", "create tasks from a CSV file (NethServer's columns), or stdin", runImportCSV},
		{"sync", "[--dry-run] [--json] [--force] ID", "run a task once, in the foreground, with a progress bar on a terminal", runSync},
		{"dovecot-config", "[--passwd-file FILE]", "print the Dovecot settings mailpull's master user needs", runDovecotConfig},
		{"master-password", "(--password-file F | --password-stdin)", "store the Dovecot master password as an encrypted credential, for the units", runMasterPassword},
		{"ldap-password", "(--password-file F | --password-stdin)", "store the LDAP bind password as an encrypted credential, for runs and the daemon", runLDAPPassword},
		{"start", "ID", "start a run of a task now, through systemd", runStart},
		{"stop", "ID", "stop a task's run; the message in flight is finished or abandoned cleanly", runStop},
		{"status", "[--json] [ID]", "timer, running run and its progress, last result and next run of the tasks", runStatus},
		{"start-all", "", "start a run of every task", runStartAll},
		{"stop-all", "", "stop every running task", runStopAll},
		{"daemon", "[--interval D]", "keep the tasks' timers in step with the users LDAP selects (mailpull.service)", runDaemon},
		{"info", "[--json] ID", "folders, messages and bytes of a task on both sides", runInfo},
		{"users", "[--json]", "list the local users that may receive tasks, from LDAP", runUsers},
		{"version", "", "print the version of mailpull", runVersion},
		{"help", "[COMMAND]", "show help for mailpull or for one command", runHelp},
	}
}

func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// run parses the global flags, dispatches to a command and maps its error to
// an exit code; main is the only caller of os.Exit.
func run(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("mailpull", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&e.configFlag, "config", "", "configuration file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(e.stdout)
			return ExitOK
		}
		return report(e, usageErrorf("%v", err))
	}
	if fs.NArg() == 0 {
		printHelp(e.stderr)
		return ExitUsage
	}
	cmd, ok := lookup(fs.Arg(0))
	if !ok {
		return report(e, usageErrorf("unknown command %q (see mailpull help)", fs.Arg(0)))
	}
	return report(e, cmd.run(ctx, e, fs.Args()[1:]))
}

// report prints err, if any, and returns its exit code.
func report(e *env, err error) int {
	if err == nil || errors.Is(err, errHelpShown) {
		return ExitOK
	}
	var logged *loggedError
	if errors.As(err, &logged) {
		return exitCode(err)
	}
	fmt.Fprintf(e.stderr, "mailpull: %v\n", err)
	return exitCode(err)
}

// newFlags returns a flag set for a command; parse prints its help on
// -h/--help and reports bad flags as usage errors.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse runs fs.Parse and turns its errors into usage errors; -h is not one.
func parse(e *env, fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		commandHelp(e.stdout, fs.Name(), fs)
		return errHelpShown
	}
	if err != nil {
		return usageErrorf("%s: %v", fs.Name(), err)
	}
	return nil
}

func commandHelp(w io.Writer, name string, fs *flag.FlagSet) {
	args, summary := synopsis(name)
	fmt.Fprintf(w, "usage: mailpull %s %s\n\n%s\n", name, args, summary)
	if fs == nil {
		return
	}
	var b strings.Builder
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	if b.Len() > 0 {
		// The flag package prints -name; mailpull documents --name, which it
		// accepts as well.
		fmt.Fprintf(w, "\nflags:\n%s", dashes(b.String()))
	}
}

func dashes(defaults string) string {
	lines := strings.Split(defaults, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "  -") {
			lines[i] = "  --" + l[3:]
		}
	}
	return strings.Join(lines, "\n")
}

// synopsis is the argument line and summary of a command or task subcommand.
func synopsis(name string) (args, summary string) {
	if c, ok := lookup(name); ok {
		return c.args, c.summary
	}
	if s, ok := taskSubcommands()[strings.TrimPrefix(name, "task ")]; ok {
		return s.args, s.summary
	}
	return "", ""
}
