package ldapusers

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// The errors of this package match one of these with errors.Is. The first
// three are about one user; the others about the directory, where the cause
// stays reachable with errors.As (e.g. *ldap.Error).
var (
	ErrNotFound  = errors.New("no such user")
	ErrDisabled  = errors.New("account disabled")
	ErrAmbiguous = errors.New("login matches several entries")
	// ErrUnavailable: the directory cannot be reached, or does not answer
	// in time, or says it is busy. Worth retrying later.
	ErrUnavailable = errors.New("ldap directory unavailable")
	// ErrAuth: the directory refused the service account, or its
	// certificate is not trusted. Retrying will not help; fix the config.
	ErrAuth = errors.New("ldap authentication failed")
	// ErrConfig: the configuration is wrong (or names a missing base DN).
	ErrConfig = errors.New("ldap configuration error")
)

// dirError is a failure to use the directory: its message is written for
// the admin, and it matches both its kind and its cause.
type dirError struct {
	msg   string
	kind  error // one of the sentinels, or nil
	cause error
}

func (e *dirError) Error() string { return e.msg }

func (e *dirError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.cause}
	}
	return []error{e.kind, e.cause}
}

// configError marks err, whose message is complete, as a config problem.
func configError(err error) error {
	return &dirError{msg: err.Error(), kind: ErrConfig, cause: err}
}

// fail describes cause after the context that prefix gives. When ctx has
// ended, the connection was closed for that reason, so ctx's error is the
// real cause.
func fail(ctx context.Context, cause error, timeout time.Duration, prefix string, args ...any) error {
	if ctx.Err() != nil {
		cause = ctx.Err()
	}
	msg := fmt.Sprintf(prefix, args...) + ": " + describe(cause, timeout)
	return &dirError{msg: msg, kind: kindOf(cause), cause: cause}
}

func describe(err error, timeout time.Duration) string {
	switch {
	case isTimeout(err):
		return fmt.Sprintf("no answer within %v", timeout)
	case untrusted(err):
		return "server certificate not trusted: " + text(err)
	}
	return text(err)
}

// text turns go-ldap's "LDAP Result Code 49 \"Invalid Credentials\": "
// into "invalid credentials", with the server's message if it gave one.
func text(err error) string {
	var le *ldap.Error
	switch {
	case !errors.As(err, &le):
		return err.Error()
	case le.ResultCode == ldap.ErrorNetwork:
		return le.Err.Error()
	}
	desc := strings.ToLower(ldap.LDAPResultCodeMap[le.ResultCode])
	if diag := le.Err.Error(); diag != "" {
		desc += " (" + diag + ")"
	}
	return desc
}

// kindOf sorts a failure into the sentinels that tell callers what to do.
func kindOf(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return nil
	case untrusted(err), ldap.IsErrorAnyOf(err, ldap.LDAPResultInvalidCredentials,
		ldap.LDAPResultInappropriateAuthentication, ldap.LDAPResultConfidentialityRequired,
		ldap.LDAPResultStrongAuthRequired, ldap.LDAPResultInsufficientAccessRights):
		return ErrAuth
	case isTimeout(err), ldap.IsErrorAnyOf(err, ldap.ErrorNetwork, ldap.LDAPResultBusy,
		ldap.LDAPResultUnavailable, ldap.LDAPResultServerDown, ldap.LDAPResultTimeLimitExceeded,
		ldap.LDAPResultTimeout, ldap.LDAPResultConnectError):
		return ErrUnavailable
	case ldap.IsErrorAnyOf(err, ldap.LDAPResultNoSuchObject, ldap.LDAPResultInvalidDNSyntax,
		ldap.LDAPResultFilterError, ldap.LDAPResultUndefinedAttributeType):
		return ErrConfig
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return ErrUnavailable
	}
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	var le *ldap.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) ||
		(errors.As(err, &le) && le.ResultCode == ldap.ErrorNetwork && strings.Contains(le.Err.Error(), "timed out"))
}

// untrusted reports a failed certificate verification. go-ldap's StartTLS
// formats the handshake error with %v, losing its type, hence the text test.
func untrusted(err error) bool {
	var cv *tls.CertificateVerificationError
	return errors.As(err, &cv) || strings.Contains(err.Error(), "tls: failed to verify certificate")
}
