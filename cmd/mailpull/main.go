// Command mailpull pulls mail from external IMAP accounts (Gmail, Outlook,
// Yahoo, any IMAP server) into the mailboxes of a local Dovecot server, one
// systemd unit per sync task.
//
// Run "mailpull help" for the list of commands. The exit codes are the
// sysexits table of the design (see exitcodes.go).
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e := &env{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin}
	e.log = newLogger(os.Stderr, slog.LevelInfo)
	e.journal = underJournal()
	code := run(ctx, e, os.Args[1:])
	stop()
	os.Exit(code)
}
