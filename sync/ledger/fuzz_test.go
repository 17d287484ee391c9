package ledger

import (
	"bytes"
	"testing"
)

// The decoders read bytes from disk that a damaged file may have changed:
// they must fail cleanly, and what they accept must encode back stably.

func FuzzDecodeIntent(f *testing.F) {
	f.Add(encodeIntent(batch("INBOX", 1, 3)))
	f.Add(encodeIntent(Intent{Folder: "Entwürfe\x00", UIDValidity: 1, Messages: []IntentMessage{{UID: 1}}}))
	f.Add([]byte{formatIntent, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := decodeIntent(b)
		if err != nil {
			return
		}
		again, err := decodeIntent(encodeIntent(in))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !bytes.Equal(encodeIntent(again), encodeIntent(in)) {
			t.Fatalf("unstable encoding:\n%+v\n%+v", in, again)
		}
	})
}

func FuzzDecodeState(f *testing.F) {
	f.Add(encodeState(FolderState{LocalFolder: "Sent", UIDNext: 5, HighestModSeq: 1 << 50}))
	f.Add(encodeState(FolderState{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeState(b)
		if err != nil {
			return
		}
		again, err := decodeState(encodeState(s))
		if err != nil || again != s {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, s)
		}
	})
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(record{localUID: 42, flags: flagSeenSet}.encode())
	f.Add([]byte{0, 0, 0, 1, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		if !bytes.Equal(r.encode(), b) {
			t.Fatalf("record %x decodes to %+v, which encodes to %x", b, r, r.encode())
		}
	})
}
