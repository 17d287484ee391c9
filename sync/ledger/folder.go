package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FolderState is what the ledger keeps of a remote folder at one
// UIDVALIDITY besides its messages.
//
// UIDNext, Messages and HighestModSeq are the remote STATUS as of the last
// complete pass: record them only once the folder is fully copied, or a
// crash halfway would make the next run skip the folder as unchanged.
type FolderState struct {
	LocalFolder      string // mirror mode: where the folder is copied to
	LocalUIDValidity uint32 // of LocalFolder, to notice it was recreated
	UIDNext          uint32
	Messages         uint32
	HighestModSeq    uint64
	FirstRunUIDNext  uint32 // INBOX mode, first_run = new: UIDNEXT at the first run; 0 if unset
}

// Folder returns the state stored for folder at uidvalidity, and whether
// there is one.
func (l *Ledger) Folder(folder string, uidvalidity uint32) (FolderState, bool, error) {
	var s FolderState
	var ok bool
	err := l.db.View(func(tx *bolt.Tx) error {
		b := uvBucket(tx, folder, uidvalidity)
		if b == nil || b.Get(keyState) == nil {
			return nil
		}
		var err error
		s, err = decodeState(b.Get(keyState))
		ok = err == nil
		return err
	})
	if err != nil {
		return FolderState{}, false, fmt.Errorf("ledger: folder %q: %w", folder, err)
	}
	return s, ok, nil
}

// SetFolder replaces the state of folder at uidvalidity. Recording a new
// UIDVALIDITY starts a fresh set of mappings; the older ones stay until
// ForgetUIDValidity.
func (l *Ledger) SetFolder(folder string, uidvalidity uint32, s FolderState) error {
	err := l.update(folder, uidvalidity, func(tx *bolt.Tx) error {
		b, err := createUVBucket(tx, folder, uidvalidity)
		if err != nil {
			return err
		}
		return b.Put(keyState, encodeState(s))
	})
	if err != nil {
		return fmt.Errorf("ledger: set folder %q: %w", folder, err)
	}
	return nil
}

// update runs fn in a write transaction after checking the folder key,
// which bbolt would otherwise reject with a less helpful error.
func (l *Ledger) update(folder string, uidvalidity uint32, fn func(*bolt.Tx) error) error {
	if err := checkFolder(folder, uidvalidity); err != nil {
		return err
	}
	return l.db.Update(fn)
}

// UIDValidities lists the UIDVALIDITYs the ledger holds for folder, in
// ascending order. More than one means a UIDVALIDITY change whose old
// mappings are kept until the engine has re-adopted the local copies.
func (l *Ledger) UIDValidities(folder string) ([]uint32, error) {
	var uvs []uint32
	err := l.db.View(func(tx *bolt.Tx) error {
		f := folderBucket(tx, folder)
		if f == nil {
			return nil
		}
		return f.ForEachBucket(func(k []byte) error {
			uvs = append(uvs, binary.BigEndian.Uint32(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: folder %q: uidvalidities: %w", folder, err)
	}
	return uvs, nil
}

// Folders lists the remote folders the ledger holds, in byte order.
func (l *Ledger) Folders() ([]string, error) {
	var names []string
	err := l.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketFolders).ForEachBucket(func(k []byte) error {
			names = append(names, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: folders: %w", err)
	}
	return names, nil
}

// Forget removes everything about folder, including its open intents: for
// a remote folder that is gone.
func (l *Ledger) Forget(folder string) error {
	err := l.db.Update(func(tx *bolt.Tx) error {
		if err := dropIntents(tx, folder, nil); err != nil {
			return err
		}
		return deleteBucket(tx.Bucket(bucketFolders), []byte(folder))
	})
	if err != nil {
		return fmt.Errorf("ledger: forget folder %q: %w", folder, err)
	}
	return nil
}

// ForgetUIDValidity removes folder's records at one UIDVALIDITY, including
// its open intents: once the local copies are re-adopted under the new one.
func (l *Ledger) ForgetUIDValidity(folder string, uidvalidity uint32) error {
	err := l.db.Update(func(tx *bolt.Tx) error {
		if err := dropIntents(tx, folder, &uidvalidity); err != nil {
			return err
		}
		f := folderBucket(tx, folder)
		if f == nil {
			return nil
		}
		return deleteBucket(f, be32(uidvalidity))
	})
	if err != nil {
		return fmt.Errorf("ledger: forget folder %q uidvalidity %d: %w", folder, uidvalidity, err)
	}
	return nil
}

func deleteBucket(parent *bolt.Bucket, key []byte) error {
	if err := parent.DeleteBucket(key); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
		return err
	}
	return nil
}

// dropIntents deletes the open intents of folder (at uidvalidity, if given).
func dropIntents(tx *bolt.Tx, folder string, uidvalidity *uint32) error {
	var ids []uint64
	err := eachIntent(tx, func(in Intent) error {
		if in.Folder == folder && (uidvalidity == nil || in.UIDValidity == *uidvalidity) {
			ids = append(ids, in.ID)
		}
		return nil
	})
	for _, id := range ids {
		if err != nil {
			break
		}
		err = tx.Bucket(bucketIntents).Delete(be64(id))
	}
	return err
}

func folderBucket(tx *bolt.Tx, folder string) *bolt.Bucket {
	if folder == "" {
		return nil
	}
	return tx.Bucket(bucketFolders).Bucket([]byte(folder))
}

func uvBucket(tx *bolt.Tx, folder string, uidvalidity uint32) *bolt.Bucket {
	f := folderBucket(tx, folder)
	if f == nil {
		return nil
	}
	return f.Bucket(be32(uidvalidity))
}

func createUVBucket(tx *bolt.Tx, folder string, uidvalidity uint32) (*bolt.Bucket, error) {
	f, err := tx.Bucket(bucketFolders).CreateBucketIfNotExists([]byte(folder))
	if err != nil {
		return nil, err
	}
	return f.CreateBucketIfNotExists(be32(uidvalidity))
}
