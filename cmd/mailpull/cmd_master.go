package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/mailpull/mailpull/creds"
	"github.com/mailpull/mailpull/units"
)

// masterCredential is the file, in the credentials directory, of the local
// Dovecot's master password: master.cred, as mailpull-sync@.service's
// LoadCredentialEncrypted=master-password: line names it.
const masterCredential = "master"

// ldapCredential is the file of the LDAP bind password, ldap.cred, which a
// drop-in of mailpull-sync@.service hands to the runs once it is stored.
const ldapCredential = "ldap"

// runMasterPassword stores the master password as an encrypted credential.
// A run under systemd reads it from there (its dynamic user cannot read
// master_password_file); run by hand as root, mailpull decrypts it too.
func runMasterPassword(ctx context.Context, e *env, args []string) error {
	_, err := storePassword(ctx, e, args, "master-password", masterCredential, creds.MasterPassword)
	return err
}

// runLDAPPassword stores the LDAP bind password as an encrypted credential,
// used when [ldap] has a bind_dn and no bind_password_file, and adds the
// drop-in that hands it to every run.
func runLDAPPassword(ctx context.Context, e *env, args []string) error {
	cfg, err := storePassword(ctx, e, args, "ldap-password", ldapCredential, creds.LDAPPassword)
	if err != nil {
		return err
	}
	m, err := units.Connect(ctx, cfg.Systemd.UnitDir)
	if errors.Is(err, units.ErrNoSystemd) {
		fmt.Fprintln(e.stderr, "mailpull: systemd is not running here: runs under systemd will not get the LDAP password until \"mailpull ldap-password\" runs again under systemd")
		return nil
	}
	if err != nil {
		return err
	}
	defer m.Close()
	store := creds.Store{Dir: cfg.CredentialsDir}
	if err := m.AddCredential(ctx, creds.LDAPPassword, store.Path(ldapCredential)); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "mailpull: every run reads it through %s\n", m.DropInPath(creds.LDAPPassword))
	return nil
}

// storePassword reads a password from --password-file or --password-stdin
// and stores it encrypted as the credential file, named name inside.
func storePassword(ctx context.Context, e *env, args []string, cmd, file, name string) (Config, error) {
	fs := newFlags(cmd)
	pwFile := fs.String("password-file", "", "read the password from `file`")
	stdin := fs.Bool("password-stdin", false, "read the password from standard input")
	if err := parse(e, fs, args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, usageErrorf("%s: unexpected argument %q", cmd, fs.Arg(0))
	}
	pw, err := readPassword(*pwFile, *stdin, e.stdin)
	if err != nil {
		return Config{}, err
	}
	if pw == nil {
		return Config{}, usageErrorf("%s: --password-file FILE or --password-stdin", cmd)
	}
	cfg, _, err := e.config()
	if err != nil {
		return Config{}, err
	}
	store := creds.Store{Dir: cfg.CredentialsDir}
	if err := store.Put(ctx, file, name, pw); err != nil {
		return Config{}, err
	}
	fmt.Fprintf(e.stderr, "mailpull: %s stored in %s\n", name, store.Path(file))
	return cfg, nil
}

// ldapPassword reads the stored LDAP bind password when a bind needs it.
func ldapPassword(credDir string) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		pw, err := creds.Store{Dir: credDir}.Get(ctx, ldapCredential, creds.LDAPPassword)
		if errors.Is(err, creds.ErrNotFound) {
			return "", errors.New("none stored: set ldap.bind_password_file, or store it with \"mailpull ldap-password\"")
		}
		return string(pw), err
	}
}
