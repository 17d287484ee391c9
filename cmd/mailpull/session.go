package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/creds"
	"github.com/mailpull/mailpull/masteruser"
	"github.com/mailpull/mailpull/sync/ledger"
	"github.com/mailpull/mailpull/sync/mirror"
	"github.com/mailpull/mailpull/sync/remote"
	"github.com/mailpull/mailpull/task"
)

// session is what a run or an inspection of a mirror task needs: dialers
// for both sides, with their passwords, and the task's ledger, which close
// releases.
func (te taskEnv) session(ctx context.Context, e *env, t task.Task) (mirror.Config, func(), error) {
	pw, err := te.creds.Get(ctx, t.ID, creds.RemotePassword)
	if err != nil {
		return mirror.Config{}, nil, configError(fmt.Errorf("task %s: remote password: %w", t.ID, err))
	}
	mcfg, err := te.cfg.masterConfig(ctx)
	if err != nil {
		return mirror.Config{}, nil, err
	}
	l, err := ledger.Open(filepath.Join(te.cfg.StateDir, t.ID+".db"))
	if errors.Is(err, ledger.ErrBusy) {
		return mirror.Config{}, nil, &exitError{code: ExitTempFail, err: fmt.Errorf("task %s: %w", t.ID, err)}
	}
	if err != nil {
		return mirror.Config{}, nil, err
	}
	rcfg := remoteConfig(t, pw)
	return mirror.Config{
		Task:   t,
		Remote: func(ctx context.Context) (*imapclient.Client, error) { return remote.Dial(ctx, rcfg) },
		Local: func(ctx context.Context) (*imapclient.Client, error) {
			return masteruser.Dial(ctx, mcfg, t.LocalUser)
		},
		Ledger: l,
		Log:    e.log.With("task", t.ID, "user", t.LocalUser),
	}, func() { l.Close() }, nil
}
