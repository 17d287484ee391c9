package main

import (
	"context"
	"fmt"

	"github.com/mailpull/mailpull/creds"
)

// masterCredential is the file, in the credentials directory, of the local
// Dovecot's master password: master.cred, as mailpull-sync@.service's
// LoadCredentialEncrypted=master-password: line names it.
const masterCredential = "master"

// runMasterPassword stores the master password as an encrypted credential.
// A run under systemd reads it from there (its dynamic user cannot read
// master_password_file); run by hand as root, mailpull decrypts it too.
func runMasterPassword(ctx context.Context, e *env, args []string) error {
	fs := newFlags("master-password")
	file := fs.String("password-file", "", "read the master password from `file`")
	stdin := fs.Bool("password-stdin", false, "read the master password from standard input")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("master-password: unexpected argument %q", fs.Arg(0))
	}
	pw, err := readPassword(*file, *stdin, e.stdin)
	if err != nil {
		return err
	}
	if pw == nil {
		return usageErrorf("master-password: --password-file FILE or --password-stdin")
	}
	cfg, _, err := e.config()
	if err != nil {
		return err
	}
	store := creds.Store{Dir: cfg.CredentialsDir}
	if err := store.Put(ctx, masterCredential, creds.MasterPassword, pw); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "mailpull: master password stored in %s\n", store.Path(masterCredential))
	return nil
}
