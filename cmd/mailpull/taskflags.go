package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/mailpull/mailpull/task"
)

// taskFlags are the flags of task add and task edit. Edit changes only what
// is given.
type taskFlags struct {
	fs            *flag.FlagSet
	t             task.Task
	deleteRemote  string
	exclude       []string
	passwordFile  string
	passwordStdin bool
	noCheck       bool
	noTrash       bool
	noImportant   bool
	noArchives    bool
}

func newTaskFlags(name string, t task.Task) *taskFlags {
	f := &taskFlags{fs: newFlags(name), t: t}
	fs, p := f.fs, &f.t
	fs.StringVar(&p.LocalUser, "local-user", p.LocalUser, "local Dovecot user that receives the mail")
	fs.StringVar(&p.Host, "host", p.Host, "remote IMAP server")
	fs.StringVar(&p.RemoteUser, "user", p.RemoteUser, "login name on the remote server")
	fs.IntVar(&p.Port, "port", p.Port, "remote port (default 993 for ssl, 143 otherwise)")
	fs.StringVar(&p.Security, "security", p.Security, "ssl, starttls or none")
	fs.StringVar(&p.TLSCA, "tls-ca", p.TLSCA, "CA `file` that verifies the remote certificate")
	fs.BoolVar(&p.TLSInsecure, "tls-insecure", p.TLSInsecure, "accept any remote certificate (not recommended)")
	fs.StringVar(&p.TLSFingerprint, "tls-fingerprint", p.TLSFingerprint, "accept the certificate with this SHA-256 (hex)")
	fs.StringVar(&p.Provider, "provider", p.Provider, "imap, gmail, outlook or yahoo")
	fs.StringVar(&p.Folders, "folders", p.Folders, "inbox, all or all-except")
	fs.Func("exclude", "with all-except: a `regex` on remote folder names (repeatable)", func(s string) error {
		f.exclude = append(f.exclude, s)
		return nil
	})
	fs.BoolVar(&p.Sieve, "sieve", p.Sieve, "inbox mode: deliver through LMTP so that Sieve runs")
	fs.StringVar(&f.deleteRemote, "delete-remote", "", "none, after-copy or older-than=DAYS")
	fs.BoolVar(&p.DeleteLocal, "delete-local", p.DeleteLocal, "delete local messages gone from the remote")
	fs.StringVar(&p.Schedule, "schedule", p.Schedule, "manual, 5m, 2h or a systemd calendar expression")
	fs.IntVar(&p.MaxMessages, "max-messages", p.MaxMessages, "copy only the newest N messages per folder")
	fs.StringVar(&p.FirstRun, "first-run", p.FirstRun, "inbox mode, first run: unseen, all or new")
	fs.BoolVar(&p.Junk, "junk", p.Junk, "copy the junk folder")
	fs.BoolVar(&f.noTrash, "no-trash", false, "do not copy the trash folder")
	fs.BoolVar(&f.noImportant, "no-important", false, "do not copy Gmail's Important folder")
	fs.BoolVar(&f.noArchives, "no-archives", false, "do not copy the archive (Gmail: All Mail)")
	fs.StringVar(&f.passwordFile, "password-file", "", "read the remote password from `file`")
	fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the remote password from standard input")
	fs.BoolVar(&f.noCheck, "no-check", false, "save without logging in to the remote or checking the local user")
	return f
}

// apply folds the flags that need more than a plain assignment into the task.
func (f *taskFlags) apply() error {
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if !set["port"] && (set["security"] || f.t.Port == 0) {
		f.t.Port = task.DefaultPort(f.t.Security)
	}
	if set["exclude"] {
		f.t.Exclude = f.exclude
	}
	if f.noTrash {
		f.t.Trash = false
	}
	if f.noImportant {
		f.t.Important = false
	}
	if f.noArchives {
		f.t.Archives = false
	}
	if set["delete-remote"] {
		return f.applyDeleteRemote()
	}
	return nil
}

func (f *taskFlags) applyDeleteRemote() error {
	mode, days, hasDays := strings.Cut(f.deleteRemote, "=")
	f.t.DeleteRemote, f.t.RetentionDays = mode, 0
	if mode == task.DeleteOlderThan {
		n, err := strconv.Atoi(days)
		if !hasDays || err != nil {
			return usageErrorf("--delete-remote older-than=DAYS: %q has no number of days", f.deleteRemote)
		}
		f.t.RetentionDays = n
	}
	return nil
}

// password reads the remote password from the file or stdin the flags name;
// it is never an argument. One trailing newline is dropped.
func (f *taskFlags) password(stdin io.Reader) ([]byte, error) {
	return readPassword(f.passwordFile, f.passwordStdin, stdin)
}

// readPassword reads a password from file or, with fromStdin, from stdin,
// without its final newline; nil when neither is asked for.
func readPassword(file string, fromStdin bool, stdin io.Reader) ([]byte, error) {
	var data []byte
	var err error
	switch {
	case file != "" && fromStdin:
		return nil, usageErrorf("--password-file and --password-stdin: choose one")
	case file != "":
		data, err = os.ReadFile(file)
	case fromStdin:
		data, err = io.ReadAll(bufio.NewReader(io.LimitReader(stdin, 64<<10)))
	default:
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the password: %w", err)
	}
	data = []byte(strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r"))
	if len(data) == 0 {
		return nil, usageErrorf("the password is empty")
	}
	return data, nil
}

var errNoPassword = errors.New("a remote password is needed: --password-file FILE or --password-stdin")
