package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Values are a small binary format rather than JSON: folder names,
// Message-IDs and origins are stored byte for byte (JSON would replace
// invalid UTF-8 and so move a mapping to another folder's key). Each value
// starts with a format byte so that a field can be added without a new
// layout version.
const (
	formatState  = 1
	formatIntent = 1
)

// A record is the value stored under a done remote UID: the local UID
// (0 when unknown, as with LMTP) and the remote chores already done.
type record struct {
	localUID uint32
	flags    byte
}

const (
	flagSeenSet       = 1 << 0 // \Seen was set on the remote copy
	flagRemoteDeleted = 1 << 1 // the remote copy was expunged
	knownFlags        = flagSeenSet | flagRemoteDeleted
	recordLen         = 5
)

func (r record) encode() []byte {
	return append(be32(r.localUID), r.flags)
}

func decodeRecord(b []byte) (record, error) {
	if len(b) != recordLen {
		return record{}, fmt.Errorf("uid record: %d bytes, want %d", len(b), recordLen)
	}
	r := record{localUID: binary.BigEndian.Uint32(b), flags: b[4]}
	if r.flags&^knownFlags != 0 {
		return record{}, fmt.Errorf("uid record: unknown flags %#x", r.flags)
	}
	return r, nil
}

func encodeState(s FolderState) []byte {
	e := encoder{b: []byte{formatState}}
	e.str(s.LocalFolder)
	e.u32(s.LocalUIDValidity)
	e.u32(s.UIDNext)
	e.u32(s.Messages)
	e.uvarint(s.HighestModSeq)
	e.u32(s.FirstRunUIDNext)
	return e.b
}

func decodeState(b []byte) (FolderState, error) {
	d := decoder{b: b}
	d.format(formatState)
	s := FolderState{
		LocalFolder:      d.str(),
		LocalUIDValidity: d.u32(),
		UIDNext:          d.u32(),
		Messages:         d.u32(),
		HighestModSeq:    d.uvarint(),
		FirstRunUIDNext:  d.u32(),
	}
	if err := d.finish(); err != nil {
		return FolderState{}, fmt.Errorf("folder state: %w", err)
	}
	return s, nil
}

func encodeIntent(in Intent) []byte {
	e := encoder{b: []byte{formatIntent}}
	e.str(in.Folder)
	e.u32(in.UIDValidity)
	e.str(in.LocalFolder)
	e.u32(in.LocalUIDValidity)
	e.u32(in.LocalUIDNext)
	e.time(in.Started)
	e.uvarint(uint64(len(in.Messages)))
	for _, m := range in.Messages {
		e.u32(m.UID)
		e.varint(m.Size)
		e.time(m.Date)
		e.str(m.MessageID)
		e.str(m.Origin)
	}
	return e.b
}

// minMessageLen is the fewest bytes a message takes in an intent; it bounds
// the allocation for a count read from a damaged value.
const minMessageLen = 4 + 1 + 2 + 1 + 1

func decodeIntent(b []byte) (Intent, error) {
	d := decoder{b: b}
	d.format(formatIntent)
	in := Intent{
		Folder:           d.str(),
		UIDValidity:      d.u32(),
		LocalFolder:      d.str(),
		LocalUIDValidity: d.u32(),
		LocalUIDNext:     d.u32(),
		Started:          d.time(),
	}
	n := d.uvarint()
	in.Messages = make([]IntentMessage, 0, min(n, uint64(len(d.b)/minMessageLen)))
	for i := uint64(0); i < n && d.err == nil; i++ {
		in.Messages = append(in.Messages, IntentMessage{
			UID: d.u32(), Size: d.varint(), Date: d.time(), MessageID: d.str(), Origin: d.str(),
		})
	}
	err := d.finish()
	if err == nil {
		err = in.validate()
	}
	if err != nil {
		return Intent{}, fmt.Errorf("intent: %w", err)
	}
	return in, nil
}

type encoder struct{ b []byte }

func (e *encoder) u32(v uint32)     { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }

func (e *encoder) str(s string) {
	e.uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}

// time keeps the instant, not the zone: matching compares instants.
func (e *encoder) time(t time.Time) {
	e.varint(t.Unix())
	e.uvarint(uint64(t.Nanosecond()))
}

// decoder reads until the first error and then returns zero values, so a
// decode function reads straight through and checks once.
type decoder struct {
	b   []byte
	err error
}

var errShort = errors.New("truncated value")

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) format(want byte) {
	if len(d.b) == 0 {
		d.fail(errShort)
		return
	}
	if d.b[0] != want {
		d.fail(fmt.Errorf("unknown format %d", d.b[0]))
	}
	d.b = d.b[1:]
}

func (d *decoder) u32() uint32 {
	if d.err != nil || len(d.b) < 4 {
		d.fail(errShort)
		return 0
	}
	v := binary.BigEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.fail(errShort)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) time() time.Time {
	sec, nsec := d.varint(), d.uvarint()
	if nsec >= 1e9 || sec > math.MaxInt64/2 || sec < math.MinInt64/2 {
		d.fail(errors.New("time out of range"))
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *decoder) finish() error {
	if d.err == nil && len(d.b) > 0 {
		return fmt.Errorf("%d trailing bytes", len(d.b))
	}
	return d.err
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
