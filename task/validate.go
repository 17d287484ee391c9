package task

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mailpull/mailpull/internal/tomlfile"
)

// Validate checks every field and returns all problems at once, joined; each
// is a *tomlfile.KeyError naming the task file's key. It checks form only: whether the local user exists or the
// host resolves is for the caller, which knows the directory and network.
func (t *Task) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, &tomlfile.KeyError{Key: field, Err: fmt.Errorf(format, args...)})
	}
	t.validateIdentity(add)
	t.validateRemote(add)
	t.validateFolders(add)
	t.validateDeletion(add)
	if _, err := ParseSchedule(t.Schedule); err != nil {
		add("schedule", "%v", err)
	}
	return errors.Join(errs...)
}

type adder func(field, format string, args ...any)

func (t *Task) validateIdentity(add adder) {
	if !ValidID(t.ID) {
		add("id", "%q is not a task id (six characters a-z 0-9)", t.ID)
	}
	if err := checkName(t.LocalUser, 255); err != nil {
		add("local_user", "%v", err)
	}
	if err := checkName(t.RemoteUser, 320); err != nil {
		add("remote_user", "%v", err)
	}
}

func (t *Task) validateRemote(add adder) {
	oneOf(add, "provider", t.Provider, ProviderIMAP, ProviderGmail, ProviderOutlook, ProviderYahoo)
	oneOf(add, "security", t.Security, SecuritySSL, SecurityStartTLS, SecurityNone)
	if !validHost(t.Host) {
		add("host", "%q is not a host name or IP address", t.Host)
	}
	if t.Port < 1 || t.Port > 65535 {
		add("port", "%d is not a port (1-65535)", t.Port)
	}
	if t.TLSCA != "" && (!filepath.IsAbs(t.TLSCA) || !printable(t.TLSCA) || filepath.Clean(t.TLSCA) != t.TLSCA) {
		add("tls_ca", "%q is not a clean absolute path", t.TLSCA)
	}
	if t.TLSFingerprint != "" && NormalizeFingerprint(t.TLSFingerprint) == "" {
		add("tls_fingerprint", "%q is not a SHA-256 fingerprint (64 hex digits)", t.TLSFingerprint)
	}
	if t.Security == SecurityNone && (t.TLSInsecure || t.TLSFingerprint != "" || t.TLSCA != "") {
		add("security", "none has no TLS: tls_ca, tls_insecure and tls_fingerprint do not apply")
	}
}

func (t *Task) validateFolders(add adder) {
	oneOf(add, "folders", t.Folders, FoldersInbox, FoldersAll, FoldersAllExcept)
	oneOf(add, "first_run", t.FirstRun, FirstRunUnseen, FirstRunAll, FirstRunNew)
	if t.Folders == FoldersAllExcept && len(t.Exclude) == 0 {
		add("exclude", "all-except needs at least one regular expression")
	}
	if t.Folders != FoldersAllExcept && len(t.Exclude) > 0 {
		add("exclude", "only applies with folders = all-except")
	}
	for _, re := range t.Exclude {
		if !printable(re) {
			add("exclude", "%q holds a control character", re)
		} else if _, err := regexp.Compile(re); err != nil {
			add("exclude", "%q is not a regular expression: %v", re, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
	}
	if t.Sieve && t.Folders != FoldersInbox {
		add("sieve", "only applies with folders = inbox")
	}
	if t.MaxMessages < 0 {
		add("max_messages", "%d is negative", t.MaxMessages)
	}
}

func (t *Task) validateDeletion(add adder) {
	oneOf(add, "delete_remote", t.DeleteRemote, DeleteNone, DeleteAfterCopy, DeleteOlderThan)
	switch {
	case t.DeleteRemote == DeleteOlderThan && (t.RetentionDays < 1 || t.RetentionDays > 36500):
		add("retention_days", "%d: older-than needs a number of days between 1 and 36500", t.RetentionDays)
	case t.DeleteRemote != DeleteOlderThan && t.RetentionDays != 0:
		add("retention_days", "only applies with delete_remote = older-than")
	}
	if t.DeleteLocal && t.Folders == FoldersInbox {
		add("delete_local", "does not apply to inbox mode")
	}
}

func oneOf(add adder, field, v string, choices ...string) {
	for _, c := range choices {
		if v == c {
			return
		}
	}
	add(field, "%q is not one of %s", v, strings.Join(choices, ", "))
}

// checkName admits a user name of any script, but nothing that could break a
// file, a unit or a protocol line: no control characters, no '/', no '%', no
// surrounding space.
func checkName(s string, max int) error {
	switch {
	case s == "":
		return errors.New("is empty")
	case len(s) > max:
		return fmt.Errorf("is longer than %d bytes", max)
	case !printable(s):
		return fmt.Errorf("%q holds a control character or invalid UTF-8", s)
	case strings.ContainsAny(s, "/%\\\"'"):
		return fmt.Errorf("%q holds one of / %% \\ \" '", s)
	case strings.TrimSpace(s) != s:
		return fmt.Errorf("%q starts or ends with a space", s)
	case s == "." || s == "..":
		return fmt.Errorf("%q is not a name", s)
	}
	return nil
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

var hostRe = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$`)

func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	return len(h) <= 253 && hostRe.MatchString(h)
}

// NormalizeFingerprint returns the lower-case hex of a SHA-256 fingerprint
// written with or without colons, or "" if it is not one.
func NormalizeFingerprint(s string) string {
	s = strings.ToLower(strings.ReplaceAll(s, ":", ""))
	if b, err := hex.DecodeString(s); err != nil || len(b) != 32 {
		return ""
	}
	return s
}
