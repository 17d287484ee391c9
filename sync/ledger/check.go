package ledger

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	bolt "go.etcd.io/bbolt"
)

// verify checks that path is a whole ledger of a layout this code reads.
// It opens the file read-only, so that nothing is ever written to a damaged
// file, and reads every page before the engine trusts any of them.
func verify(path string) (err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Size() == 0 {
		return damaged(errors.New("empty file"))
	}
	// A page pointer past the end of a truncated file faults in the memory
	// map; make that an error here rather than a crash later.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = damaged(fmt.Errorf("%v", r))
		}
	}()
	db, err := openDB(path, true)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error { return checkTx(tx, fi.Size()) })
}

func checkTx(tx *bolt.Tx, fileSize int64) error {
	if tx.Size() > fileSize {
		return damaged(fmt.Errorf("file is %d bytes, its pages need %d", fileSize, tx.Size()))
	}
	if err := checkVersion(tx); err != nil {
		return err
	}
	if err := checkLayout(tx); err != nil {
		return damaged(err)
	}
	// bbolt's own check finds what a walk does not: pages both free and in
	// use, which the next write would overwrite.
	var first error
	for err := range tx.Check() {
		first = cmp.Or(first, err)
	}
	if first != nil {
		return damaged(first)
	}
	return nil
}

func checkVersion(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return damaged(errors.New("not a mailpull ledger: no layout version"))
	}
	v := meta.Get(keyVersion)
	if len(v) != 4 || binary.BigEndian.Uint32(v) == 0 {
		return damaged(fmt.Errorf("bad layout version %x", v))
	}
	if n := binary.BigEndian.Uint32(v); n > version {
		return fmt.Errorf("layout version %d is newer than this mailpull reads (%d): "+
			"run the newer mailpull that wrote it", n, version)
	}
	return nil
}

// checkLayout reads every key and value, so that damage shows now, not
// halfway through a run.
func checkLayout(tx *bolt.Tx) error {
	folders, intents := tx.Bucket(bucketFolders), tx.Bucket(bucketIntents)
	if folders == nil || intents == nil {
		return errors.New("missing top-level bucket")
	}
	err := folders.ForEach(func(name, v []byte) error {
		if v != nil {
			return fmt.Errorf("folder %q: not a bucket", name)
		}
		return checkFolderBucket(folders.Bucket(name))
	})
	if err != nil {
		return err
	}
	return intents.ForEach(func(k, v []byte) error {
		if _, err := decodeIntent(v); err != nil || len(k) != 8 {
			return fmt.Errorf("intent %x: %w", k, cmp.Or(err, errors.New("bad key")))
		}
		return nil
	})
}

func checkFolderBucket(f *bolt.Bucket) error {
	return f.ForEach(func(uv, v []byte) error {
		if v != nil || len(uv) != 4 {
			return fmt.Errorf("uidvalidity key %x: not a bucket", uv)
		}
		return checkUVBucket(f.Bucket(uv))
	})
}

func checkUVBucket(b *bolt.Bucket) error {
	return b.ForEach(func(k, v []byte) error {
		switch {
		case bytes.Equal(k, keyState) && v != nil:
			_, err := decodeState(v)
			return err
		case bytes.Equal(k, bucketUIDs) && v == nil:
			return b.Bucket(k).ForEach(func(k, v []byte) error {
				_, err := decodeUID(k, v)
				return err
			})
		}
		return fmt.Errorf("unexpected key %q", k)
	})
}
