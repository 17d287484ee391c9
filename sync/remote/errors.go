package remote

import (
	"errors"
	"fmt"
)

// The kinds of failure a caller acts on differently (the exit codes map
// them): fix the task, fix the credentials, or try again later.
var (
	ErrHostNotFound = errors.New("remote host not found")
	ErrAuth         = errors.New("authentication failed")
	ErrStartTLS     = errors.New("server refused STARTTLS")
	ErrUntrusted    = errors.New("certificate not trusted")
	ErrTimeout      = errors.New("timed out")
	ErrTemporary    = errors.New("temporary failure")
	ErrConfig       = errors.New("bad remote configuration")
)

// tempError marks a cause as temporary while keeping it in the chain.
type tempError struct{ err error }

func (e *tempError) Error() string   { return e.err.Error() }
func (e *tempError) Unwrap() []error { return []error{e.err, ErrTemporary} }

func temporary(err error) error { return &tempError{err} }

// CertError is a certificate the task does not trust. It carries the
// certificate's SHA-256 so that the admin can pin it (--tls-fingerprint).
type CertError struct {
	Addr        string
	Fingerprint string // hex SHA-256 of the leaf certificate
	Reason      string
}

func (e *CertError) Error() string {
	return fmt.Sprintf("%s: certificate not trusted: %s (SHA-256 %s; to accept this certificate, pin it with --tls-fingerprint %s)",
		e.Addr, e.Reason, e.Fingerprint, e.Fingerprint)
}

func (e *CertError) Is(target error) bool { return target == ErrUntrusted }

// Temporary marks err as a temporary failure (ErrTemporary), for callers
// that see a connection break after the dial.
func Temporary(err error) error { return temporary(err) }
