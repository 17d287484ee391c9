package hostile

import (
	"bytes"
	"regexp"
	"strconv"
)

var (
	fetchStart = regexp.MustCompile(`^\* (\d+) FETCH \(`)
	uidItem    = regexp.MustCompile(`(?i)\bUID (\d+) ?`)
	literal    = regexp.MustCompile(`\{(\d+)\}\r\n`)
)

// Fetch describes a FETCH response.
type Fetch struct {
	Seq     uint32
	UID     uint32 // 0 if the text before the first literal has none
	Literal int    // offset of the first literal's data in the response; -1 without one
	Body    bool   // it carries a whole body (BODY[]), not a header section
}

// ParseFetch reads the shape of a FETCH response; ok is false for any other
// response.
func ParseFetch(resp []byte) (f Fetch, ok bool) {
	m := fetchStart.FindSubmatch(resp)
	if m == nil {
		return f, false
	}
	seq, _ := strconv.ParseUint(string(m[1]), 10, 32)
	f.Seq, f.Literal = uint32(seq), -1
	head := resp
	if loc := literal.FindIndex(resp); loc != nil {
		f.Literal, head = loc[1], resp[:loc[0]]
	}
	if u := uidItem.FindSubmatch(head); u != nil {
		uid, _ := strconv.ParseUint(string(u[1]), 10, 32)
		f.UID = uint32(uid)
	}
	f.Body = bytes.Contains(head, []byte("BODY[] ")) || bytes.Contains(head, []byte("BODY[]<"))
	return f, true
}

// UIDLast moves the UID item of a FETCH response with a literal to the end
// of its list, after the literal: legal IMAP (RFC 3501 §7.4.2 sets no order).
func UIDLast(resp []byte) []byte {
	f, ok := ParseFetch(resp)
	if !ok || f.UID == 0 || f.Literal < 0 {
		return resp
	}
	loc := uidItem.FindIndex(resp[:f.Literal])
	out := append([]byte{}, resp[:loc[0]]...)
	out = append(out, resp[loc[1]:]...)
	end := bytes.LastIndex(out, []byte(")"))
	tail := append([]byte(" UID "+strconv.FormatUint(uint64(f.UID), 10)), out[end:]...)
	return append(out[:end], tail...)
}
