package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/mailpull/mailpull/ldapusers"
)

func runUsers(ctx context.Context, e *env, args []string) error {
	fs := newFlags("users")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("users: unexpected argument %q", fs.Arg(0))
	}
	cfg, file, err := e.config()
	if err != nil {
		return err
	}
	if cfg.LDAP == nil {
		return configError(fmt.Errorf("%s: no [ldap] section: the local users are listed from LDAP", file))
	}
	dir, err := cfg.LDAP.directory(cfg.CredentialsDir)
	if err != nil {
		return configError(err)
	}
	users, err := ldapusers.List(ctx, dir)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, jsonUsers(users))
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LOGIN\tMAIL\tNAME")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Login, u.Mail, u.DisplayName)
	}
	return tw.Flush()
}

type userJSON struct {
	Login       string `json:"login"`
	Mail        string `json:"mail"`
	DisplayName string `json:"display_name"`
}

func jsonUsers(users []ldapusers.User) []userJSON {
	out := make([]userJSON, 0, len(users))
	for _, u := range users {
		out = append(out, userJSON{u.Login, u.Mail, u.DisplayName})
	}
	return out
}
