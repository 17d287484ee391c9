package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Intent is what a run is about to copy, written before the copies so that
// a crash leaves a record of which messages may or may not have arrived.
//
// Mirror mode fills the Local fields: after a crash, local messages with
// UID ≥ LocalUIDNext in LocalFolder (while its UIDVALIDITY is still
// LocalUIDValidity) are the only candidates for adoption. INBOX mode leaves
// them empty and matches on IntentMessage.Origin instead.
type Intent struct {
	ID               uint64 // set by Begin and OpenIntents
	Folder           string // remote folder
	UIDValidity      uint32 // of the remote folder
	LocalFolder      string
	LocalUIDValidity uint32
	LocalUIDNext     uint32    // the local folder's UIDNEXT before the batch
	Started          time.Time // set by Begin
	Messages         []IntentMessage
}

// IntentMessage is one remote message of an intent, with what it takes to
// recognise its copy on the local side.
type IntentMessage struct {
	UID       uint32 // remote UID
	Size      int64  // RFC822.SIZE
	Date      time.Time
	MessageID string // may be empty
	Origin    string // INBOX mode: the X-Mailpull-Origin value
}

func (in Intent) validate() error {
	if err := checkFolder(in.Folder, in.UIDValidity); err != nil {
		return err
	}
	if len(in.Messages) == 0 {
		return errors.New("no messages")
	}
	seen := make(map[uint32]bool, len(in.Messages))
	for _, m := range in.Messages {
		if m.UID == 0 {
			return errors.New("message with uid 0")
		}
		if seen[m.UID] {
			return fmt.Errorf("uid %d twice", m.UID)
		}
		seen[m.UID] = true
	}
	return nil
}

func checkFolder(folder string, uidvalidity uint32) error {
	switch {
	case folder == "":
		return errors.New("empty folder name")
	case uidvalidity == 0:
		return errors.New("uidvalidity 0")
	}
	return nil
}

// Begin records the intent and returns its id. It refuses messages that are
// done already or belong to another open intent: copying them would make a
// duplicate, or leave a crash unresolvable.
func (l *Ledger) Begin(in Intent) (uint64, error) {
	in.Started = time.Now().UTC()
	if err := in.validate(); err != nil {
		return 0, fmt.Errorf("ledger: begin intent %q: %w", in.Folder, err)
	}
	err := l.db.Update(func(tx *bolt.Tx) error {
		if err := checkNotCopied(tx, in); err != nil {
			return err
		}
		intents := tx.Bucket(bucketIntents)
		id, err := intents.NextSequence()
		if err != nil {
			return err
		}
		in.ID = id
		return intents.Put(be64(id), encodeIntent(in))
	})
	if err != nil {
		return 0, fmt.Errorf("ledger: begin intent %q: %w", in.Folder, err)
	}
	return in.ID, nil
}

func checkNotCopied(tx *bolt.Tx, in Intent) error {
	uids := uidBucket(tx, in.Folder, in.UIDValidity)
	open, err := openUIDs(tx, in.Folder, in.UIDValidity)
	if err != nil {
		return err
	}
	for _, m := range in.Messages {
		if uids != nil && uids.Get(be32(m.UID)) != nil {
			return fmt.Errorf("uid %d is done already", m.UID)
		}
		if id, ok := open[m.UID]; ok {
			return fmt.Errorf("uid %d is in open intent %d", m.UID, id)
		}
	}
	return nil
}

// openUIDs maps the remote UIDs of the open intents for one folder to their
// intent. Open intents are few (normally none), so a scan is cheap.
func openUIDs(tx *bolt.Tx, folder string, uidvalidity uint32) (map[uint32]uint64, error) {
	open := map[uint32]uint64{}
	err := eachIntent(tx, func(in Intent) error {
		if in.Folder == folder && in.UIDValidity == uidvalidity {
			for _, m := range in.Messages {
				open[m.UID] = in.ID
			}
		}
		return nil
	})
	return open, err
}

func eachIntent(tx *bolt.Tx, fn func(Intent) error) error {
	return tx.Bucket(bucketIntents).ForEach(func(k, v []byte) error {
		in, err := decodeIntent(v)
		if err == nil && len(k) != 8 {
			err = fmt.Errorf("key of %d bytes", len(k))
		}
		if err != nil {
			return corrupt(fmt.Errorf("intent %x: %w", k, err))
		}
		in.ID = binary.BigEndian.Uint64(k)
		return fn(in)
	})
}

// OpenIntents returns the intents not yet committed, oldest first. After a
// crash the engine resolves each with Commit before copying anything.
func (l *Ledger) OpenIntents() ([]Intent, error) {
	var all []Intent
	err := l.db.View(func(tx *bolt.Tx) error {
		return eachIntent(tx, func(in Intent) error {
			all = append(all, in)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: open intents: %w", err)
	}
	return all, nil
}

// Commit records the messages of intent id that are now stored locally and
// closes the intent, in one transaction: either both are on disk or neither.
// It serves both the normal end of a batch (mappings from APPENDUID, or
// local UID 0 after LMTP) and the resolution of an intent found open after a
// crash (the messages adopted by matching). Messages of the intent left out
// of done are not done and will be copied again; Commit(id, nil) just
// drops the intent.
func (l *Ledger) Commit(id uint64, done []Mapping) error {
	err := l.db.Update(func(tx *bolt.Tx) error {
		intents := tx.Bucket(bucketIntents)
		v := intents.Get(be64(id))
		if v == nil {
			return ErrNoIntent
		}
		in, err := decodeIntent(v)
		if err != nil {
			return corrupt(err)
		}
		if err := putMappings(tx, in, done); err != nil {
			return err
		}
		return intents.Delete(be64(id))
	})
	if err != nil {
		return fmt.Errorf("ledger: commit intent %d: %w", id, err)
	}
	return nil
}

func putMappings(tx *bolt.Tx, in Intent, done []Mapping) error {
	want := make(map[uint32]bool, len(in.Messages))
	for _, m := range in.Messages {
		want[m.UID] = true
	}
	uids, err := createUIDBucket(tx, in.Folder, in.UIDValidity)
	if err != nil {
		return err
	}
	// UIDs mostly arrive in ascending order: fuller pages on split halve
	// the file (bbolt's advice for append-mostly buckets).
	uids.FillPercent = 0.9
	for _, m := range done {
		if !want[m.RemoteUID] {
			return fmt.Errorf("uid %d is not part of the intent", m.RemoteUID)
		}
		if err := uids.Put(be32(m.RemoteUID), record{localUID: m.LocalUID}.encode()); err != nil {
			return err
		}
	}
	return nil
}
