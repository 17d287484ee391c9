package mirror

import (
	"errors"
	"io"
	"net"
	"time"

	"github.com/emersion/go-imap/v2"
)

// ErrInterrupted means that a connection to the remote or the local server
// broke during the run: a temporary failure. What the ledger committed is
// kept, and the next run settles the batch that was in flight.
var ErrInterrupted = errors.New("connection lost")

// interruptedError marks a cause as ErrInterrupted while keeping it in the
// chain, so that a classification made by the dialing package (unreachable,
// authentication) still shows.
type interruptedError struct{ err error }

func (e *interruptedError) Error() string   { return e.err.Error() }
func (e *interruptedError) Unwrap() []error { return []error{e.err, ErrInterrupted} }

// interrupted marks err, which a broken connection caused, as
// ErrInterrupted.
func interrupted(err error) error {
	if err == nil || errors.Is(err, ErrInterrupted) {
		return err
	}
	return &interruptedError{err}
}

// connLost reports whether err says that a connection ended (EOF, reset,
// closed) rather than that a server answered NO or BAD. go-imap formats some
// of its read errors with %v, which hides the cause: callers also look at the
// client (closed).
func connLost(err error) bool {
	var ie *imap.Error
	if errors.As(err, &ie) {
		return false
	}
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, io.ErrClosedPipe) || errors.As(err, &ne)
}

// lost tells whether err comes from a broken connection of the pair, and
// returns it, in that case marked as ErrInterrupted: the error says so, or a
// connection is closed. go-imap fails a command whose answer was cut off
// before it marks the connection closed, so for an error that is not the
// server's answer, lost gives the reader a moment to catch up.
func (p *pair) lost(err error) (bool, error) {
	if err == nil {
		return false, nil
	}
	if connLost(err) {
		return true, interrupted(err)
	}
	var ie *imap.Error
	deadline := time.Now()
	if !errors.As(err, &ie) {
		deadline = deadline.Add(closeWait)
	}
	for !p.broken() {
		if time.Now().After(deadline) {
			return false, err
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true, interrupted(err)
}

// closeWait is how long lostOn waits for a failed connection to show as
// closed; go-imap's reader closes it right after the failed read.
const closeWait = time.Second
