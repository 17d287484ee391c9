package ledger

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Mapping says that the remote message RemoteUID is stored locally as
// LocalUID (0 when the local UID is not known, as after LMTP delivery).
type Mapping struct {
	RemoteUID, LocalUID uint32
}

// Done returns the remote UIDs of folder at uidvalidity that are stored
// locally, in ascending order. It is the only basis for deleting on the
// remote.
func (l *Ledger) Done(folder string, uidvalidity uint32) ([]uint32, error) {
	return l.uids("done", folder, uidvalidity, func(record) bool { return true })
}

// Deletable returns the done UIDs whose remote copy is not yet recorded as
// deleted, in ascending order.
func (l *Ledger) Deletable(folder string, uidvalidity uint32) ([]uint32, error) {
	return l.uids("deletable", folder, uidvalidity, func(r record) bool {
		return r.flags&flagRemoteDeleted == 0
	})
}

// PendingSeen returns the done UIDs whose remote \Seen is not yet recorded
// as set (INBOX mode) and whose remote copy is not deleted, in ascending
// order: after a crash between delivery and STORE they are still owed.
func (l *Ledger) PendingSeen(folder string, uidvalidity uint32) ([]uint32, error) {
	return l.uids("pending seen", folder, uidvalidity, func(r record) bool {
		return r.flags&(flagSeenSet|flagRemoteDeleted) == 0
	})
}

// Mappings returns the done messages of folder at uidvalidity with their
// local UIDs, by remote UID. After a UIDVALIDITY change, the old mappings
// name the local messages already known to be copies.
func (l *Ledger) Mappings(folder string, uidvalidity uint32) ([]Mapping, error) {
	var ms []Mapping
	err := l.scan(folder, uidvalidity, func(uid uint32, r record) {
		ms = append(ms, Mapping{RemoteUID: uid, LocalUID: r.localUID})
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: folder %q: mappings: %w", folder, err)
	}
	return ms, nil
}

func (l *Ledger) uids(what, folder string, uidvalidity uint32, keep func(record) bool) ([]uint32, error) {
	var uids []uint32
	err := l.scan(folder, uidvalidity, func(uid uint32, r record) {
		if keep(r) {
			uids = append(uids, uid)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: folder %q: %s: %w", folder, what, err)
	}
	return uids, nil
}

// scan calls fn for each done UID in ascending order; the big-endian keys
// make bbolt's byte order the numeric order.
func (l *Ledger) scan(folder string, uidvalidity uint32, fn func(uint32, record)) error {
	return l.db.View(func(tx *bolt.Tx) error {
		b := uidBucket(tx, folder, uidvalidity)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			r, err := decodeUID(k, v)
			if err != nil {
				return corrupt(err)
			}
			fn(binary.BigEndian.Uint32(k), r)
			return nil
		})
	})
}

func decodeUID(k, v []byte) (record, error) {
	if len(k) != 4 {
		return record{}, fmt.Errorf("uid key of %d bytes", len(k))
	}
	return decodeRecord(v)
}

// IsDone reports whether the remote message uid of folder at uidvalidity is
// stored locally.
func (l *Ledger) IsDone(folder string, uidvalidity, uid uint32) (bool, error) {
	var done bool
	err := l.db.View(func(tx *bolt.Tx) error {
		b := uidBucket(tx, folder, uidvalidity)
		done = b != nil && b.Get(be32(uid)) != nil
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("ledger: folder %q: is done: %w", folder, err)
	}
	return done, nil
}

// Highest returns the highest done remote UID of folder at uidvalidity, or 0.
func (l *Ledger) Highest(folder string, uidvalidity uint32) (uint32, error) {
	var uid uint32
	err := l.db.View(func(tx *bolt.Tx) error {
		b := uidBucket(tx, folder, uidvalidity)
		if b == nil {
			return nil
		}
		if k, _ := b.Cursor().Last(); len(k) == 4 {
			uid = binary.BigEndian.Uint32(k)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("ledger: folder %q: highest: %w", folder, err)
	}
	return uid, nil
}

// MarkSeen records that \Seen was set on the remote copies of uids.
func (l *Ledger) MarkSeen(folder string, uidvalidity uint32, uids []uint32) error {
	if err := l.setFlag(folder, uidvalidity, uids, flagSeenSet); err != nil {
		return fmt.Errorf("ledger: folder %q: mark seen: %w", folder, err)
	}
	return nil
}

// MarkDeleted records that the remote copies of uids were expunged. The
// messages stay done: their local copies remain.
func (l *Ledger) MarkDeleted(folder string, uidvalidity uint32, uids []uint32) error {
	if err := l.setFlag(folder, uidvalidity, uids, flagRemoteDeleted); err != nil {
		return fmt.Errorf("ledger: folder %q: mark deleted: %w", folder, err)
	}
	return nil
}

// setFlag refuses UIDs that are not done, all or nothing: a remote chore
// on a message that is not stored locally is an engine bug worth stopping.
func (l *Ledger) setFlag(folder string, uidvalidity uint32, uids []uint32, flag byte) error {
	return l.update(folder, uidvalidity, func(tx *bolt.Tx) error {
		b := uidBucket(tx, folder, uidvalidity)
		for _, uid := range uids {
			var v []byte
			if b != nil {
				v = b.Get(be32(uid))
			}
			if v == nil {
				return fmt.Errorf("uid %d is not done", uid)
			}
			r, err := decodeRecord(v)
			if err != nil {
				return corrupt(err)
			}
			r.flags |= flag
			if err := b.Put(be32(uid), r.encode()); err != nil {
				return err
			}
		}
		return nil
	})
}

func uidBucket(tx *bolt.Tx, folder string, uidvalidity uint32) *bolt.Bucket {
	b := uvBucket(tx, folder, uidvalidity)
	if b == nil {
		return nil
	}
	return b.Bucket(bucketUIDs)
}

func createUIDBucket(tx *bolt.Tx, folder string, uidvalidity uint32) (*bolt.Bucket, error) {
	b, err := createUVBucket(tx, folder, uidvalidity)
	if err != nil {
		return nil, err
	}
	return b.CreateBucketIfNotExists(bucketUIDs)
}

// FolderStats counts the messages of one remote folder at one UIDVALIDITY.
type FolderStats struct {
	Folder      string
	UIDValidity uint32
	LocalFolder string
	Done        int // stored locally
	Deleted     int // of those, expunged on the remote
}

// Stats counts the done messages per folder and UIDVALIDITY, by folder
// name (bytes) and then UIDVALIDITY.
func (l *Ledger) Stats() ([]FolderStats, error) {
	var all []FolderStats
	err := l.db.View(func(tx *bolt.Tx) error {
		folders := tx.Bucket(bucketFolders)
		return folders.ForEachBucket(func(name []byte) error {
			f := folders.Bucket(name)
			return f.ForEachBucket(func(uv []byte) error {
				st, err := uvStats(f.Bucket(uv))
				st.Folder, st.UIDValidity = string(name), binary.BigEndian.Uint32(uv)
				all = append(all, st)
				return err
			})
		})
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: stats: %w", err)
	}
	return all, nil
}

func uvStats(b *bolt.Bucket) (FolderStats, error) {
	var st FolderStats
	if v := b.Get(keyState); v != nil {
		s, err := decodeState(v)
		if err != nil {
			return st, corrupt(err)
		}
		st.LocalFolder = s.LocalFolder
	}
	uids := b.Bucket(bucketUIDs)
	if uids == nil {
		return st, nil
	}
	return st, uids.ForEach(func(k, v []byte) error {
		r, err := decodeUID(k, v)
		if err != nil {
			return corrupt(err)
		}
		st.Done++
		if r.flags&flagRemoteDeleted != 0 {
			st.Deleted++
		}
		return nil
	})
}
