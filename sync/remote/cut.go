package remote

import (
	"fmt"
	"io"
)

// A server may be unable to serve one message and close the connection
// each time it is asked for it (Dovecot does so when a maildir file is
// shorter than the size its name states). Ending the run there would end
// every later run at the same message, and nothing after it would ever
// arrive; so an engine reconnects and asks for that message once more,
// since the link may be at fault rather than the message, and when it cuts
// the connection again, fails it alone and goes on. Cuts keeps that count.

// MaxCuts bounds the reconnections after cuts, so that a link that keeps
// dropping still ends the run.
const MaxCuts = 8

// CutError is a remote connection that closed while it sent one message.
type CutError struct {
	UID  uint32
	What string // what was being sent: "the message (10 of the 600 bytes it announced)"
	Err  error
}

func (e *CutError) Error() string {
	if e.Err == nil { // the literal ended early, without an error
		return "the remote server closed the connection while sending " + e.What
	}
	return fmt.Sprintf("the remote server closed the connection while sending %s: %v", e.What, e.Err)
}

func (e *CutError) Unwrap() error { return e.Err }

// CutReader reads a literal, counting its bytes and keeping its read
// error: a copy that failed on a short or broken body is the remote's cut,
// not a local failure.
type CutReader struct {
	R   io.Reader
	N   int64
	EOF bool
	Err error // a read error other than EOF
}

func (c *CutReader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.N += int64(n)
	switch {
	case err == io.EOF:
		c.EOF = true
	case err != nil:
		c.Err = err
	}
	return n, err
}

// Cut reports whether the remote cut off the literal of size bytes: a read
// error, or its end before size.
func (c *CutReader) Cut(size int64) bool { return c.Err != nil || c.EOF && c.N < size }

// BodyCut is the error of a message body the remote cut off; err is the
// failure it caused.
func (c *CutReader) BodyCut(uid uint32, size int64, err error) *CutError {
	return &CutError{UID: uid, Err: err, What: fmt.Sprintf("the message (%d of the %d bytes it announced)", c.N, size)}
}

// Cuts counts a run's (or a folder's) reconnections after cuts and the
// messages that caused them.
type Cuts struct {
	n    int
	uids map[uint32]bool
}

// Reconnect counts one more reconnection and reports whether it is still
// allowed.
func (c *Cuts) Reconnect() bool {
	c.n++
	return c.n <= MaxCuts
}

// Again notes that uid cut the connection and reports whether it had
// already: the message then fails instead of being asked for once more.
func (c *Cuts) Again(uid uint32) bool {
	if c.uids == nil {
		c.uids = map[uint32]bool{}
	}
	before := c.uids[uid]
	c.uids[uid] = true
	return before
}
