package inbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/emersion/go-smtp"
)

// lmtp delivers over one LMTP connection (RFC 2033) for the whole run: one
// LHLO, then a MAIL, RCPT, DATA transaction per message.
type lmtp struct {
	c    *smtp.Client
	rcpt string
}

func dialLMTP(ctx context.Context, dial func(context.Context) (net.Conn, error), rcpt string) (*lmtp, error) {
	conn, err := dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: lmtp: %w", ErrUnavailable, err)
	}
	c := smtp.NewClientLMTP(conn)
	c.CommandTimeout = time.Minute
	c.SubmissionTimeout = 10 * time.Minute // Sieve runs before the answer to the final dot
	if err := c.Hello("mailpull"); err != nil {
		c.Close()
		return nil, fmt.Errorf("%w: lmtp: lhlo: %w", ErrUnavailable, err)
	}
	return &lmtp{c: c, rcpt: rcpt}, nil
}

func (l *lmtp) close() { _ = l.c.Close() }

// deliver runs one transaction. go-smtp's DATA writer dot-stuffs and turns
// bare LF into CRLF; it buffers what it writes, so the body's last bytes
// and the final dot leave in one write (the socket has TCP_NODELAY, as Go
// sets it): no Nagle stall waits for the server's delayed ACK.
func (l *lmtp) deliver(m meta, head []byte, body io.Reader, size int64) error {
	if err := l.mail(m.returnPath); err != nil {
		return err
	}
	if err := l.c.Rcpt(l.rcpt, nil); err != nil {
		return l.abort("rcpt", err)
	}
	w, err := l.c.Data()
	if err != nil {
		return l.abort("data", err)
	}
	if _, err := w.Write(head); err != nil {
		return fmt.Errorf("lmtp data: %w", err)
	}
	if err := copyWhole(w, body, size); err != nil {
		// Never send the final dot after a short body: that would deliver
		// a truncated message. Closing the connection aborts the DATA.
		l.c.Close()
		return fmt.Errorf("lmtp data: %w", err)
	}
	_, err = w.CloseWithLMTPResponse()
	return classify("data", err)
}

// mail opens the transaction with the message's Return-Path as the envelope
// sender (RFC 5321 §4.4), which is where bounces and vacation replies go;
// if the server refuses that address, with the null sender.
func (l *lmtp) mail(from string) error {
	err := l.c.Mail(from, nil)
	var se *smtp.SMTPError
	if from != "" && errors.As(err, &se) && se.Code/100 == 5 {
		err = l.c.Mail("", nil)
	}
	return classify("mail from", err)
}

// abort ends a transaction the server refused part of, so that the next
// MAIL is not "nested" (RFC 5321 §4.1.1.5). go-smtp sends LHLO again after
// RSET; that happens only after a refusal.
func (l *lmtp) abort(stage string, err error) error {
	err = classify(stage, err)
	var ref *refusal
	if errors.As(err, &ref) {
		if rerr := l.c.Reset(); rerr != nil {
			return fmt.Errorf("lmtp rset: %w", rerr)
		}
	}
	return err
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
