package masteruser

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"
)

// The classes of failure callers act on, usable with errors.Is. The error
// returned also wraps the underlying one (*imap.Error, *net.OpError,
// x509 errors), usable with errors.As.
var (
	// ErrMasterAuth: the master user or its password was refused. Fix the
	// credentials; retrying does not help.
	ErrMasterAuth = errors.New("master credentials refused")
	// ErrUnknownUser: the master credentials are good but the target user
	// does not exist or is disabled.
	ErrUnknownUser = errors.New("no such mail user, or disabled")
	// ErrUnreachable: no connection, or no answer in time. Retry later.
	ErrUnreachable = errors.New("server unreachable")
	// ErrTLS: the TLS handshake failed, e.g. the certificate is not
	// trusted or not for this name.
	ErrTLS = errors.New("tls handshake failed")
)

// classifyLogin maps Dovecot's answer to a master login.
//
// Observed with Dovecot 2.3.19.1 (Debian 12), a master passdb with
// result_success = continue and auth_master_user_separator = *, for both
// LOGIN "user*master" and AUTHENTICATE PLAIN:
//
//	wrong master password, existing user   NO [AUTHENTICATIONFAILED] Authentication failed.
//	wrong master password, unknown user    NO [AUTHENTICATIONFAILED] Authentication failed.
//	unknown master user                    NO [AUTHENTICATIONFAILED] Authentication failed.
//	good master, unknown target user       NO [AUTHORIZATIONFAILED] Authorization failed
//	good master, LDAP user filtered out    NO [AUTHORIZATIONFAILED] Authorization failed
//	  (disabled: pwdAccountLockedTime)
//
// The master password is checked first, so a wrong one never reveals
// whether the user exists. Without result_success = continue the unknown
// user is only noticed after authentication: see [Check].
func classifyLogin(err error) error {
	var imapErr *imap.Error
	if !errors.As(err, &imapErr) {
		return err
	}
	switch imapErr.Code {
	case imap.ResponseCodeAuthenticationFailed:
		return fmt.Errorf("%w: %w", ErrMasterAuth, err)
	case imap.ResponseCodeAuthorizationFailed:
		return fmt.Errorf("%w: %w", ErrUnknownUser, err)
	}
	return err
}

// classifyHandshake marks certificate and handshake failures as ErrTLS,
// and the rest (refused, reset, timed out) as ErrUnreachable.
func classifyHandshake(err error) error {
	var (
		certErr    *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
		alert      tls.AlertError
		recordErr  tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr),
		errors.As(err, &invalidErr), errors.As(err, &alert), errors.As(err, &recordErr):
		return fmt.Errorf("%w: %w", ErrTLS, err)
	case errors.Is(err, context.Canceled):
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnreachable, err)
}
