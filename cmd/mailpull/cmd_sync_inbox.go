package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/creds"
	"github.com/mailpull/mailpull/ldapusers"
	"github.com/mailpull/mailpull/masteruser"
	"github.com/mailpull/mailpull/sync/inbox"
	"github.com/mailpull/mailpull/sync/ledger"
	"github.com/mailpull/mailpull/sync/remote"
	"github.com/mailpull/mailpull/task"
)

// syncInbox runs an INBOX-mode task once and prints its summary.
func (te taskEnv) syncInbox(ctx context.Context, e *env, t task.Task, dryRun, asJSON bool) error {
	start := time.Now()
	sum, err := te.inbox(ctx, e, t, dryRun)
	err = stopped(ctx, inboxExit(err))
	if sum != nil && printInboxSummary(e, t, sum, err, time.Since(start), asJSON, dryRun) && err != nil {
		return &loggedError{err}
	}
	return err
}

func (te taskEnv) inbox(ctx context.Context, e *env, t task.Task, dryRun bool) (*inbox.Summary, error) {
	pw, err := te.creds.Get(ctx, t.ID, creds.RemotePassword)
	if err != nil {
		return nil, configError(fmt.Errorf("task %s: remote password: %w", t.ID, err))
	}
	mcfg, err := te.cfg.masterConfig(ctx)
	if err != nil {
		return nil, err
	}
	rcpt, err := te.recipient(ctx, t.LocalUser)
	if err != nil {
		return nil, err
	}
	l, err := te.openLedger(t)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	rcfg := remoteConfig(t, pw)
	cfg := inbox.Config{
		Task:   t,
		Remote: func(ctx context.Context) (*imapclient.Client, error) { return remote.Dial(ctx, rcfg) },
		Local: func(ctx context.Context) (*imapclient.Client, error) {
			return masteruser.Dial(ctx, mcfg, t.LocalUser)
		},
		Recipient: rcpt, OriginalTo: remoteAddress(t), Ledger: l, DryRun: dryRun,
		Log: e.log.With("task", t.ID, "user", t.LocalUser),
	}
	if t.Sieve {
		cfg.LMTP = lmtpDialer(te.cfg.Dovecot.LMTP)
	}
	p := newProgress(e, "delivered")
	cfg.Progress = func(done, total int) { p.update(inbox.Folder, done, total) }
	defer p.finish()
	return inbox.Run(ctx, cfg)
}

func (te taskEnv) openLedger(t task.Task) (*ledger.Ledger, error) {
	l, err := ledger.Open(filepath.Join(te.cfg.StateDir, t.ID+".db"))
	if errors.Is(err, ledger.ErrBusy) {
		return nil, &exitError{code: ExitTempFail, err: fmt.Errorf("task %s: %w", t.ID, err)}
	}
	return l, err
}

// recipient is the local user's address for LMTP: the directory's mail
// attribute, else login@domain, else the login, which Dovecot also takes.
func (te taskEnv) recipient(ctx context.Context, login string) (string, error) {
	if te.cfg.LDAP != nil {
		dir, err := te.cfg.LDAP.directory(te.cfg.CredentialsDir)
		if err != nil {
			return "", configError(err)
		}
		u, err := ldapusers.Lookup(ctx, dir, login)
		if err != nil {
			return "", fmt.Errorf("local user %s: %w", login, err)
		}
		if u.Mail != "" {
			return u.Mail, nil
		}
	}
	if d := te.cfg.Dovecot.Domain; d != "" && !strings.Contains(login, "@") {
		return login + "@" + d, nil
	}
	return login, nil
}

// remoteAddress is the address the remote account receives mail at, for
// X-Original-To: the remote login when it is an address, else login@host.
func remoteAddress(t task.Task) string {
	if strings.Contains(t.RemoteUser, "@") {
		return t.RemoteUser
	}
	return t.RemoteUser + "@" + t.Host
}

// lmtpDialer connects to Dovecot's LMTP: a unix socket when the address is
// a path, else TCP.
func lmtpDialer(addr string) func(context.Context) (net.Conn, error) {
	network := "tcp"
	if filepath.IsAbs(addr) {
		network = "unix"
	}
	return func(ctx context.Context) (net.Conn, error) {
		d := net.Dialer{Timeout: 10 * time.Second}
		return d.DialContext(ctx, network, addr)
	}
}

// inboxExit maps the ends of an INBOX run to the exit codes of design §9.
func inboxExit(err error) error {
	for _, k := range []struct {
		err  error
		code int
	}{
		{inbox.ErrUnknownUser, ExitNoUser},
		{inbox.ErrQuota, ExitCantCreate},
		{inbox.ErrUnavailable, ExitUnavailable},
		{inbox.ErrDeferred, ExitTempFail},
		{inbox.ErrPartial, ExitPartial},
	} {
		if errors.Is(err, k.err) {
			return &exitError{code: k.code, err: err}
		}
	}
	return err
}

type inboxSummaryJSON struct {
	Task          string   `json:"task"`
	Mode          string   `json:"mode"`
	DryRun        bool     `json:"dry_run,omitempty"`
	Delivered     int      `json:"delivered"`
	Recovered     int      `json:"recovered"`
	Skipped       int      `json:"skipped"`
	SeenSet       int      `json:"seen_set"`
	DeletedRemote int      `json:"deleted_remote"`
	Deferred      int      `json:"deferred"`
	Failed        []string `json:"failed"`
	Seconds       float64  `json:"seconds"`
	ExitCode      int      `json:"exit_code"`
}

// printInboxSummary prints the summary of an INBOX run, or, under the
// journal, logs it with fields and reports true.
func printInboxSummary(e *env, t task.Task, s *inbox.Summary, err error, d time.Duration, asJSON, dryRun bool) (logged bool) {
	j := inboxSummaryJSON{Task: t.ID, Mode: "inbox", DryRun: dryRun, Delivered: s.Delivered, Recovered: s.Recovered,
		Skipped: s.Skipped, SeenSet: s.SeenSet, DeletedRemote: s.DeletedRemote, Deferred: s.Deferred,
		Failed: []string{}, Seconds: d.Seconds(), ExitCode: ExitOK}
	if err != nil {
		j.ExitCode = exitCode(err)
	}
	for _, f := range s.Failed {
		j.Failed = append(j.Failed, f.Error())
	}
	if asJSON {
		writeJSON(e.stdout, j)
		return false
	}
	if e.journal {
		logSummary(e, t.ID, t.LocalUser, runCounts{copied: j.Delivered, skipped: j.Skipped, deleted: j.DeletedRemote,
			errors: len(j.Failed), exitCode: j.ExitCode, seconds: j.Seconds}, err,
			"mode", "inbox", "dry_run", dryRun, "recovered", j.Recovered, "seen_set", j.SeenSet, "deferred", j.Deferred)
		return true
	}
	fmt.Fprintf(e.stdout, "task %s: %sdelivered %d, already there %d, recovered %d, seen set %d, deleted remote %d, deferred %d, failed %d, exit %d, %.1fs\n",
		t.ID, dryRunPrefix(dryRun), j.Delivered, j.Skipped, j.Recovered, j.SeenSet, j.DeletedRemote, j.Deferred,
		len(j.Failed), j.ExitCode, j.Seconds)
	for _, f := range j.Failed {
		fmt.Fprintf(e.stdout, "  failed: %s\n", f)
	}
	return false
}
