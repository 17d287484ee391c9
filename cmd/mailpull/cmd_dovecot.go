package main

import (
	"context"
	"fmt"

	"github.com/mailpull/mailpull/masteruser"
)

func runDovecotConfig(ctx context.Context, e *env, args []string) error {
	fs := newFlags("dovecot-config")
	passwd := fs.String("passwd-file", masteruser.DefaultPasswdFile, "the Dovecot passwd-file that holds the master user")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("dovecot-config: unexpected argument %q", fs.Arg(0))
	}
	cfg, _, err := e.config()
	if err != nil {
		return err
	}
	// The settings never hold the master password; it is not read here.
	mcfg := masteruser.Config{Addr: cfg.Dovecot.IMAP, MasterUser: cfg.Dovecot.MasterUser, Separator: cfg.Dovecot.Separator}
	out, err := masteruser.Settings(mcfg, *passwd)
	if err != nil {
		return configError(err)
	}
	fmt.Fprint(e.stdout, out)
	return nil
}
