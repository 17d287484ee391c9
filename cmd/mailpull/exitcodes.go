package main

import (
	"errors"
	"fmt"

	"github.com/mailpull/mailpull/ldapusers"
	"github.com/mailpull/mailpull/masteruser"
	"github.com/mailpull/mailpull/sync/mirror"
	"github.com/mailpull/mailpull/sync/remote"
)

// Exit codes, from sysexits.h, so that scripts and the units'
// RestartPreventExitStatus= can act on them. The table is the design's §9.
const (
	ExitOK          = 0  // done, everything copied
	ExitPartial     = 1  // done, some messages failed: re-run
	ExitUsage       = 64 // usage error: fix the command
	ExitNoUser      = 67 // local user unknown or disabled
	ExitNoHost      = 68 // remote host not found
	ExitUnavailable = 69 // a server refused service: retry later
	ExitCantCreate  = 73 // cannot store locally (quota, limits)
	ExitTempFail    = 75 // temporary failure: retry later
	ExitNoPerm      = 77 // authentication failed: fix credentials
	ExitConfig      = 78 // configuration error: fix the file
)

// exitError carries the exit code a failure maps to.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// errHelpShown ends a command that printed its help on request: exit 0,
// nothing more to say.
var errHelpShown = &exitError{code: ExitOK, err: errors.New("help shown")}

// kinds maps the failures the packages classify to exit codes, in order:
// the first match wins.
var kinds = []struct {
	err  error
	code int
}{
	{ldapusers.ErrConfig, ExitConfig},
	{ldapusers.ErrAuth, ExitNoPerm},
	{ldapusers.ErrNotFound, ExitNoUser},
	{ldapusers.ErrDisabled, ExitNoUser},
	{ldapusers.ErrUnavailable, ExitUnavailable},
	{masteruser.ErrMasterAuth, ExitNoPerm},
	{masteruser.ErrUnknownUser, ExitNoUser},
	{masteruser.ErrUnreachable, ExitUnavailable},
	{masteruser.ErrTLS, ExitNoPerm},
	{remote.ErrConfig, ExitConfig},
	{remote.ErrHostNotFound, ExitNoHost},
	{remote.ErrAuth, ExitNoPerm},
	{remote.ErrUntrusted, ExitNoPerm},
	{remote.ErrStartTLS, ExitNoPerm},
	{remote.ErrTimeout, ExitTempFail},
	{remote.ErrTemporary, ExitTempFail},
	{mirror.ErrInterrupted, ExitTempFail}, // last: the dialers' own classes come first
}

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k.code
		}
	}
	return ExitPartial
}
