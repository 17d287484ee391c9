package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/mailpull/mailpull/creds"
	"github.com/mailpull/mailpull/masteruser"
)

// masterConfig is how mailpull logs in to the local Dovecot. The master
// password is a credential when systemd hands it over or the credentials
// directory has it, else the content of master_password_file.
func (cfg Config) masterConfig(ctx context.Context) (masteruser.Config, error) {
	pw, err := cfg.masterPassword(ctx)
	if err != nil {
		return masteruser.Config{}, err
	}
	security := masteruser.Security(cfg.Dovecot.Security)
	if cfg.Dovecot.Security == "ssl" {
		security = masteruser.SecurityTLS
	}
	return masteruser.Config{
		Addr: cfg.Dovecot.IMAP, Security: security, CAFile: cfg.Dovecot.CAFile,
		MasterUser: cfg.Dovecot.MasterUser, MasterPassword: pw, Separator: cfg.Dovecot.Separator,
	}, nil
}

func (cfg Config) masterPassword(ctx context.Context) (string, error) {
	pw, err := creds.Store{Dir: cfg.CredentialsDir}.Get(ctx, masterCredential, creds.MasterPassword)
	if err == nil {
		return string(pw), nil
	}
	if !errors.Is(err, creds.ErrNotFound) {
		return "", err
	}
	data, err := os.ReadFile(cfg.Dovecot.MasterPasswordFile)
	if err != nil {
		return "", configError(fmt.Errorf("dovecot master password: %w", err))
	}
	pw2 := strings.TrimRight(string(data), "\r\n")
	if pw2 == "" {
		return "", configError(fmt.Errorf("dovecot master password: %s is empty", cfg.Dovecot.MasterPasswordFile))
	}
	return pw2, nil
}
