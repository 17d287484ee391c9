// Package mirror copies a remote IMAP account into a local one for the
// folder modes all and all-except: every mapped folder, byte for byte, with
// flags and internal dates, exactly once.
//
// Bodies stream from the remote FETCH literal into the local APPEND literal;
// nothing holds a whole message in memory. Each folder worker has its own
// remote and local connection, since the remote one is busy while a body
// streams. Before a batch of appends the ledger records an intent with the
// local folder's UIDNEXT; the batch's mappings and the intent's removal are
// one transaction. A run that died leaves open intents, which the next run
// settles by looking at the local messages above that UIDNEXT before it
// copies anything.
package mirror

import (
	"context"
	"errors"
	"fmt"
	"github.com/emersion/go-imap/v2"
	"log/slog"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/sync/folders"
	"github.com/mailpull/mailpull/sync/ledger"
	"github.com/mailpull/mailpull/task"
)

// Dialer opens a logged-in IMAP connection.
type Dialer func(ctx context.Context) (*imapclient.Client, error)

// Config is one run.
type Config struct {
	Task        task.Task
	Remote      Dialer // the remote account
	Local       Dialer // the local account, through the master user
	Ledger      *ledger.Ledger
	Connections int // folders copied at once; default 3
	Batch       int // messages per intent; default 100
	// SpoolAbove is the size from which a message is fetched in ranges into
	// a temporary file before its APPEND (default 20 MiB): go-imap gives a
	// literal at most five minutes, too little for 50 MB on a slow link.
	SpoolAbove int64
	SpoolChunk int64 // the size of a range; default 8 MiB
	DryRun     bool  // report what would change, change nothing
	// Stall is how long a worker may wait on a server without any answer
	// before the watchdog closes its connections (default 5 minutes):
	// go-imap waits for a reply's first byte without a deadline.
	Stall    time.Duration
	Force    bool // delete-local may remove more than maxLocalShare of a folder
	Log      *slog.Logger
	Progress func(Progress) // called often; may be nil

	// beforeRemoteDelete, if set, runs between choosing the remote UIDs to
	// delete and deleting them: tests use it to play a concurrent client.
	beforeRemoteDelete func(folder string)
}

// Progress is where a run stands.
type Progress struct {
	Folder       string
	Done, Total  int
	Bytes        int64
	FoldersDone  int
	FoldersTotal int
}

// Summary is what a run did.
type Summary struct {
	Copied, Adopted, Skipped int // messages: copied now, found copied after a crash or UIDVALIDITY change, already there
	Bytes                    int64
	FlagsUpdated             int      // local copies whose flags were set to the remote's
	DeletedRemote            int      // remote messages deleted (or moved to Trash) after their copy
	DeletedLocal             int      // local copies deleted because the remote message is gone
	Created                  []string // local folders created
	Removed                  []string // local folders deleted because the remote folder is gone
	SkippedFolders           []folders.Skip
	Failed                   []Failure
}

// Failure is one message or folder that could not be copied; the run goes on.
type Failure struct {
	Folder string
	UID    uint32 // 0 for a whole folder
	Err    error
}

func (f Failure) Error() string {
	if f.UID == 0 {
		return fmt.Sprintf("%s: %v", f.Folder, f.Err)
	}
	return fmt.Sprintf("%s UID %d: %v", f.Folder, f.UID, f.Err)
}

// ErrPartial is returned, with the summary, when some messages failed.
var ErrPartial = errors.New("some messages were not copied")

// Run copies the account. A nil error means every mapped message is local.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	cfg.defaults()
	r := &run{cfg: cfg, sum: &Summary{}}
	r.first = r.firstRun()
	dialing := r.predial(ctx)
	plan, sep, first, err := r.prepare(ctx)
	pairs := append([]*pair{first}, dialing.wait()...)
	if err != nil {
		closePairs(pairs)
		return r.sum, err
	}
	r.sum.SkippedFolders = plan.Skipped
	if err := r.copyFolders(ctx, r.largestFirst(r.changed(plan.Folders)), sep, pairs); err != nil {
		return r.sum, err
	}
	if err := r.moveToTrash(ctx); err != nil {
		return r.sum, err
	}
	if err := r.goneFolders(ctx, plan, sep); err != nil {
		return r.sum, err
	}
	if len(r.sum.Failed) > 0 {
		return r.sum, ErrPartial
	}
	return r.sum, nil
}

func (c *Config) defaults() {
	if c.Connections <= 0 {
		c.Connections = 3
	}
	if c.Batch <= 0 {
		c.Batch = 100
	}
	if c.SpoolAbove <= 0 {
		c.SpoolAbove = 20 << 20
	}
	if c.SpoolChunk <= 0 {
		c.SpoolChunk = 8 << 20
	}
	if c.Stall <= 0 {
		c.Stall = 5 * time.Minute
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// run is the state of one Run, shared by its folder workers.
type run struct {
	cfg     Config
	listing folders.Listing             // the remote folders, as prepare listed them
	moves   []pendingMove               // Gmail deletions, run once every folder is copied
	status  map[string]*imap.StatusData // remote STATUS of each mapped folder, read by prepare
	first   bool                        // the ledger knew no folder when the run began
	mu      sync.Mutex
	sum     *Summary
}

func (r *run) record(f func(s *Summary)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r.sum)
}

func (r *run) fail(folder string, uid uint32, err error) {
	r.cfg.Log.Warn("copy failed", "folder", folder, "uid", uid, "err", err)
	r.record(func(s *Summary) { s.Failed = append(s.Failed, Failure{folder, uid, err}) })
}
