package inbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// Timeouts of the LMTP conversation: a command's answer, and the answers
// to the final dot, which come after Sieve ran and the message was stored.
const (
	lmtpCommandTimeout = time.Minute
	lmtpDataTimeout    = 10 * time.Minute
)

// lmtp delivers over one LMTP connection (RFC 2033) for the whole run: one
// LHLO, then a MAIL, RCPT, DATA transaction per message. go-smtp's client
// waits for each command's answer; this one pipelines them (RFC 2920) when
// the server offers PIPELINING, as Dovecot does: MAIL, RCPT and DATA leave
// in one write and their three answers are read together. And the answer to
// a message's final dot may be left pending (send, then wait), so that the
// run reads the next message from the remote while the local server runs
// Sieve and stores this one.
type lmtp struct {
	conn     net.Conn
	r        *textproto.Reader
	w        *bufio.Writer
	rcpt     string
	pipeline bool
	eightBit bool
	pending  bool // a final dot was sent and its answer not read yet
}

func dialLMTP(ctx context.Context, dial func(context.Context) (net.Conn, error), rcpt string) (*lmtp, error) {
	conn, err := dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: lmtp: %w", ErrUnavailable, err)
	}
	l := &lmtp{conn: conn, r: textproto.NewReader(bufio.NewReaderSize(conn, 4<<10)), w: bufio.NewWriterSize(conn, 64<<10), rcpt: rcpt}
	if err := l.hello(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: lmtp: %w", ErrUnavailable, err)
	}
	return l, nil
}

// hello reads the greeting and says LHLO.
func (l *lmtp) hello() error {
	l.deadline(lmtpCommandTimeout)
	if _, err := l.reply(2); err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	fmt.Fprintf(l.w, "LHLO mailpull\r\n")
	if err := l.w.Flush(); err != nil {
		return err
	}
	msg, err := l.reply(2)
	if err != nil {
		return fmt.Errorf("lhlo: %w", err)
	}
	for _, ext := range strings.Split(msg, "\n")[1:] {
		switch strings.ToUpper(strings.Fields(ext + " x")[0]) {
		case "PIPELINING":
			l.pipeline = true
		case "8BITMIME":
			l.eightBit = true
		}
	}
	return nil
}

func (l *lmtp) close() { _ = l.conn.Close() }

func (l *lmtp) deadline(d time.Duration) { _ = l.conn.SetDeadline(time.Now().Add(d)) }

// deliver runs one transaction and waits for its outcome.
func (l *lmtp) deliver(m meta, head []byte, body io.Reader, size int64) error {
	if err := l.send(m, head, body, size); err != nil {
		return err
	}
	return l.wait()
}

// send opens a transaction and sends the message, up to its final dot,
// whose answer wait reads. An error here is the outcome of this message:
// a *refusal of the envelope, or a broken connection.
//
// The DATA writer dot-stuffs and turns bare LF into CRLF; it buffers what
// it writes, so the body's last bytes and the final dot leave in one write
// (the socket has TCP_NODELAY, as Go sets it): no Nagle stall waits for the
// server's delayed ACK.
func (l *lmtp) send(m meta, head []byte, body io.Reader, size int64) error {
	if l.pending {
		return errors.New("lmtp: a message's answer is still pending")
	}
	if err := l.envelope(m.returnPath); err != nil {
		return err
	}
	w := textproto.NewWriter(l.w).DotWriter()
	if _, err := w.Write(head); err != nil {
		return fmt.Errorf("lmtp data: %w", err)
	}
	if err := copyWhole(w, body, size); err != nil {
		// Never send the final dot after a short body: that would deliver
		// a truncated message. Closing the connection aborts the DATA.
		l.conn.Close()
		return fmt.Errorf("lmtp data: %w", err)
	}
	if err := w.Close(); err != nil { // the final dot, and a flush
		return fmt.Errorf("lmtp data: %w", err)
	}
	l.pending = true
	return nil
}

// wait reads the answer to the final dot of the message send sent: one
// per recipient, and there is one.
func (l *lmtp) wait() error {
	if !l.pending {
		return nil
	}
	l.pending = false
	l.deadline(lmtpDataTimeout)
	_, err := l.reply(2)
	return classify("data", err)
}

// envelope sends MAIL, RCPT and DATA, with the message's Return-Path as
// the envelope sender (RFC 5321 §4.4), which is where bounces and vacation
// replies go; if the server refuses that address, with the null sender.
// It returns once the server has answered DATA with 354.
func (l *lmtp) envelope(from string) error {
	stage, err := l.transaction(from)
	var se *smtp.SMTPError
	if from != "" && stage == "mail from" && errors.As(err, &se) && se.Code/100 == 5 {
		stage, err = l.transaction("")
	}
	return classify(stage, err)
}

// transaction sends MAIL, RCPT and DATA, in one write if the server
// pipelines, and reads their answers in order. It returns the first
// command the server refused and its answer. A refused part ends the
// transaction with RSET, so that the next MAIL is not "nested" (RFC 5321
// §4.1.1.5).
func (l *lmtp) transaction(from string) (string, error) {
	mail := "MAIL FROM:<" + from + ">"
	if l.eightBit {
		mail += " BODY=8BITMIME"
	}
	cmds := []struct {
		stage, line string
		code        int
	}{{"mail from", mail, 2}, {"rcpt", "RCPT TO:<" + l.rcpt + ">", 2}, {"data", "DATA", 3}}
	l.deadline(lmtpCommandTimeout)
	if l.pipeline {
		for _, c := range cmds {
			l.w.WriteString(c.line + "\r\n")
		}
		if err := l.w.Flush(); err != nil {
			return cmds[0].stage, err
		}
	}
	stage, refused := "", error(nil)
	for _, c := range cmds {
		if !l.pipeline {
			if refused != nil {
				break
			}
			l.w.WriteString(c.line + "\r\n")
			if err := l.w.Flush(); err != nil {
				return c.stage, err
			}
		}
		_, err := l.reply(c.code)
		var se *smtp.SMTPError
		switch {
		case err == nil:
			if c.code == 3 && refused != nil {
				// DATA accepted without a transaction: no sound way on.
				l.conn.Close()
				return c.stage, errors.New("the server took DATA after refusing " + stage)
			}
		case !errors.As(err, &se):
			return c.stage, err // the connection is in doubt
		case refused == nil:
			stage, refused = c.stage, err
		}
	}
	if refused == nil {
		return "", nil
	}
	l.w.WriteString("RSET\r\n")
	if err := l.w.Flush(); err != nil {
		return "rset", err
	}
	if _, err := l.reply(2); err != nil {
		// Not a refusal of the message: the connection is in doubt.
		return "rset", fmt.Errorf("%v (after %s: %v)", err, stage, refused)
	}
	return stage, refused
}

// reply reads one answer; a code of another class than want is an
// *smtp.SMTPError, as go-smtp gives it, with the enhanced status code.
func (l *lmtp) reply(want int) (string, error) {
	code, msg, err := l.r.ReadResponse(want)
	var te *textproto.Error
	if errors.As(err, &te) {
		return msg, smtpError(te.Code, te.Msg)
	}
	if err == nil && code/100 != want {
		return msg, smtpError(code, msg)
	}
	return msg, err
}

// smtpError is go-smtp's reading of a reply: an enhanced status code
// (RFC 2034) in front of the text is taken out of it.
func smtpError(code int, msg string) *smtp.SMTPError {
	se := &smtp.SMTPError{Code: code, Message: msg}
	first, rest, ok := strings.Cut(msg, " ")
	if !ok {
		return se
	}
	parts := strings.Split(first, ".")
	if len(parts) != 3 {
		return se
	}
	var ec smtp.EnhancedCode
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return se
		}
		ec[i] = n
	}
	if ec[0] != 2 && ec[0] != 4 && ec[0] != 5 {
		return se
	}
	se.EnhancedCode = ec
	se.Message = strings.ReplaceAll(rest, "\n"+first+" ", "\n")
	return se
}

// classify turns an LMTP reply into a refusal: 4xx for now; 5xx for every
// message when it names the recipient or the mailbox's quota (RFC 3463
// X.1.x and X.2.2), else for this message. Anything that is not a reply
// leaves the connection in doubt and is returned as it is.
func classify(stage string, err error) error {
	var se *smtp.SMTPError
	if err == nil || !errors.As(err, &se) {
		if err != nil {
			return fmt.Errorf("lmtp %s: %w", stage, err)
		}
		return nil
	}
	ref := &refusal{err: fmt.Errorf("lmtp %s: %w", stage, err)}
	switch {
	case se.Code/100 == 4:
		ref.temporary = true
	case se.EnhancedCode == smtp.EnhancedCode{5, 2, 2} || (se.Code == 552 && se.EnhancedCode[0] <= 0):
		ref.account = ErrQuota
	case stage == "rcpt" || se.EnhancedCode[0] == 5 && se.EnhancedCode[1] == 1:
		ref.account = ErrUnknownUser
	}
	return ref
}

// copyWhole copies a body of size bytes. go-imap's literal reader ends a
// literal the connection cut off with a plain io.EOF, so a short count is
// the only sign that the body is incomplete.
func copyWhole(w io.Writer, body io.Reader, size int64) error {
	n, err := io.Copy(w, body)
	if err == nil && n != size {
		err = fmt.Errorf("the remote server sent %d of the %d bytes of the message: %w", n, size, io.ErrUnexpectedEOF)
	}
	return err
}
