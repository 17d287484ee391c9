// Package ledger is the per-task record of which remote messages are stored
// locally: the only source mailpull trusts for "copied" and therefore for
// "may be deleted on the remote".
//
// One bbolt file per task holds, per remote folder and UIDVALIDITY, the
// folder's last seen STATUS, the remote UID → local UID mappings with the
// remote-side chores done (\Seen set, expunged), and the intents written
// before each batch of copies. An intent and the mappings that settle it
// change in one transaction, so after a crash at any instant the open
// intents name exactly the messages whose fate must be looked up on the
// local side before anything is copied again.
//
// Only one process may hold a ledger: a second Open of the same file fails
// with ErrBusy. A damaged file is never replaced by an empty one, since an
// empty ledger would make the engine copy every message again.
//
// The file holds three top-level buckets. Numbers are big-endian, so that
// keys sort numerically; folder names are keys of their own, never joined
// into strings that two names could share.
//
//	meta     version → layout version (uint32)
//	folders  <remote folder name> → bucket
//	           <uidvalidity> → bucket
//	             state → FolderState
//	             uids  → bucket: <remote uid> → <local uid (uint32)><flags (byte)>
//	intents  <id (uint64)> → Intent
//
// FolderState and Intent values are a small binary format (encoding.go).
package ledger

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// version is the layout written by this code. Files from a newer layout are
// refused rather than half-understood.
const version = 1

var (
	// ErrBusy means another process (another run of the same task) has the
	// ledger open.
	ErrBusy = errors.New("in use by another run of the same task")
	// ErrDamaged means the file is not a readable ledger.
	ErrDamaged = errors.New("damaged file")
	// ErrNoIntent means the intent id is not open (committed already, or
	// dropped with its folder).
	ErrNoIntent = errors.New("no such open intent")
)

// Bucket and key names of the layout (see the package doc and Stats).
var (
	bucketMeta    = []byte("meta")
	bucketFolders = []byte("folders")
	bucketIntents = []byte("intents")
	keyVersion    = []byte("version")
	keyState      = []byte("state")
	bucketUIDs    = []byte("uids")
)

// lockTimeout bounds the wait for the file lock: a run that overlaps another
// should fail fast and say so, not queue behind it.
const lockTimeout = time.Second

// Ledger is an open ledger file. Its methods are safe for concurrent use.
type Ledger struct {
	db   *bolt.DB
	path string
}

// Open opens the ledger at path, creating it (and its directory, 0700) if
// it does not exist. The file is checked before it is written to.
func Open(path string) (*Ledger, error) {
	l, err := open(path)
	if err != nil {
		return nil, fmt.Errorf("open ledger %s: %w", path, err)
	}
	return l, nil
}

func open(path string) (*Ledger, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	switch _, err := os.Stat(path); {
	case errors.Is(err, fs.ErrNotExist):
		if err := create(path); err != nil {
			return nil, fmt.Errorf("create: %w", err)
		}
	case err != nil:
		return nil, err
	}
	if err := verify(path); err != nil {
		return nil, err
	}
	db, err := openDB(path, false)
	if err != nil {
		return nil, err
	}
	return &Ledger{db: db, path: path}, nil
}

// Close releases the file and its lock.
func (l *Ledger) Close() error {
	if err := l.db.Close(); err != nil {
		return fmt.Errorf("close ledger %s: %w", l.path, err)
	}
	return nil
}

func openDB(path string, readOnly bool) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, ReadOnly: readOnly})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, ErrBusy
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch):
		return nil, damaged(err)
	}
	return db, err
}

func damaged(err error) error {
	return fmt.Errorf("%w (restore it from a backup; mailpull does not start over "+
		"on its own, as that would copy every message again): %w", ErrDamaged, err)
}

// corrupt marks a value that fails to decode after the open-time check
// passed: the file changed under us.
func corrupt(err error) error {
	return fmt.Errorf("%w: %w", ErrDamaged, err)
}

// create builds a fresh ledger under a temporary name and links it into
// place, so that the path never names a file without the layout version: an
// empty or half-made file at path can then only mean damage.
func create(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".new-*")
	if err != nil {
		return err
	}
	tmpPath := tmp.Name()
	defer os.Remove(tmpPath)
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := initDB(tmpPath); err != nil {
		return err
	}
	// Link, unlike rename, does not replace a ledger another run just made.
	if err := os.Link(tmpPath, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func initDB(path string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		return err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketFolders, bucketIntents} {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keyVersion, be32(version))
	})
	return errors.Join(err, db.Close())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
