// Package ldapusers lists and looks up, in an LDAP directory (OpenLDAP as
// NethServer 8 runs it, or Samba/Active Directory), the mail users that may
// receive tasks: those the admin's filter selects and whose account is not
// disabled.
//
// Every call opens its own connection, bound as the service account, and
// closes it: the daemon asks rarely, and a fresh connection needs no
// reconnect logic. A directory that does not answer fails within the
// configured timeout, and an incomplete answer is an error, never a shorter
// list: the daemon stops the tasks of users missing from the list.
package ldapusers

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// User is a directory entry that the filter selects.
type User struct {
	Login       string // the login attribute, as Dovecot knows the user
	Mail        string
	DisplayName string
	DN          string
	Disabled    bool
}

// pageSize stays under Active Directory's MaxPageSize (1000).
const pageSize = 500

// List returns the users that may receive tasks, sorted by login: the
// enabled ones among those the filter selects. A login that several entries
// share belongs to none of them (as [Lookup] says), so it is left out.
func List(ctx context.Context, cfg Config) ([]User, error) {
	all, err := ListAll(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(u User) bool { return u.Disabled }), nil
}

// ListAll is [List] with the disabled users too, marked Disabled.
func ListAll(ctx context.Context, cfg Config) ([]User, error) {
	cfg, err := prepare(cfg)
	if err != nil {
		return nil, err
	}
	users, err := search(ctx, cfg, cfg.filterFor("*"))
	if err != nil {
		return nil, err
	}
	return unique(users), nil
}

// Lookup finds the user whose login attribute equals login (as the
// directory compares it, usually without case) among those the filter
// selects. A disabled user is returned with [ErrDisabled].
func Lookup(ctx context.Context, cfg Config, login string) (User, error) {
	cfg, err := prepare(cfg)
	if err != nil {
		return User{}, err
	}
	filter := cfg.filterFor(ldap.EscapeFilter(login))
	if login == "" {
		return User{}, fmt.Errorf("ldap lookup: empty login: %w", ErrNotFound)
	}
	users, err := search(ctx, cfg, filter)
	switch {
	case err != nil:
		return User{}, err
	case len(users) == 0:
		return User{}, fmt.Errorf("ldap lookup %q: %w under %s matching %s", login, ErrNotFound, cfg.BaseDN, filter)
	case len(users) > 1:
		return User{}, fmt.Errorf("ldap lookup %q: %w: %s", login, ErrAmbiguous, dns(users))
	case users[0].Disabled:
		return users[0], fmt.Errorf("ldap lookup %q: %w (%s)", login, ErrDisabled, users[0].DN)
	}
	return users[0], nil
}

func prepare(cfg Config) (Config, error) {
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg.withDefaults(), nil
}

// filterFor narrows the admin's filter to one login value, or to entries
// that have a login at all with "*". value must be escaped already.
func (cfg Config) filterFor(value string) string {
	return "(&" + cfg.Filter + "(" + cfg.LoginAttribute + "=" + value + "))"
}

// search returns every entry or an error: SearchWithPaging's partial result
// on error is dropped, a shorter list must never pass for the truth.
func search(ctx context.Context, cfg Config, filter string) ([]User, error) {
	c, err := open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer c.close()
	timeout := cfg.Timeout
	req := ldap.NewSearchRequest(cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0,
		int(math.Ceil(timeout.Seconds())), false, filter, cfg.attributes(), nil)
	res, err := c.SearchWithPaging(req, pageSize)
	if err != nil {
		return nil, fail(ctx, err, timeout, "ldap search %s under %s at %s", filter, cfg.BaseDN, cfg.URL)
	}
	users := make([]User, 0, len(res.Entries))
	for _, e := range res.Entries {
		users = append(users, cfg.user(e))
	}
	return users, nil
}

// attributes are those a User needs; the disabled marker is operational
// (pwdAccountLockedTime), so it must be asked for by name.
func (cfg Config) attributes() []string {
	attrs := []string{cfg.LoginAttribute, cfg.MailAttribute, cfg.DisplayNameAttribute, "cn"}
	if cfg.Schema == AD {
		return append(attrs, "userAccountControl")
	}
	return append(attrs, cfg.DisabledAttribute)
}

func (cfg Config) user(e *ldap.Entry) User {
	return User{
		Login:       e.GetEqualFoldAttributeValue(cfg.LoginAttribute),
		Mail:        e.GetEqualFoldAttributeValue(cfg.MailAttribute),
		DisplayName: orDefault(e.GetEqualFoldAttributeValue(cfg.DisplayNameAttribute), e.GetEqualFoldAttributeValue("cn")),
		DN:          e.DN,
		Disabled:    cfg.disabled(e),
	}
}

func (cfg Config) disabled(e *ldap.Entry) bool {
	if cfg.Schema == AD {
		return adDisabled(e.GetEqualFoldAttributeValue("userAccountControl"))
	}
	values := e.GetEqualFoldAttributeValues(cfg.DisabledAttribute)
	if cfg.DisabledValue == "" {
		return len(values) > 0
	}
	return slices.ContainsFunc(values, func(v string) bool { return strings.EqualFold(v, cfg.DisabledValue) })
}

// adDisabled reports whether userAccountControl has ACCOUNTDISABLE (0x2).
// A missing or malformed value counts as disabled: AD always sets it, and
// pausing a task is safer than delivering to an account we cannot judge.
func adDisabled(uac string) bool {
	v, err := strconv.ParseInt(strings.TrimSpace(uac), 10, 64)
	return err != nil || v&0x2 != 0
}

// unique sorts users by login and drops the logins that several entries
// share, comparing without case as the directory does.
func unique(users []User) []User {
	count := map[string]int{}
	for _, u := range users {
		count[strings.ToLower(u.Login)]++
	}
	users = slices.DeleteFunc(users, func(u User) bool { return count[strings.ToLower(u.Login)] > 1 })
	slices.SortFunc(users, func(a, b User) int { return strings.Compare(a.Login, b.Login) })
	return users
}

func dns(users []User) string {
	var s []string
	for _, u := range users {
		s = append(s, u.DN)
	}
	return strings.Join(s, ", ")
}
