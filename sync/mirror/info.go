package mirror

import (
	"context"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/sync/folders"
	"github.com/mailpull/mailpull/sync/ledger"
)

// FolderInfo is one mapped folder on both sides. Bytes are -1 where the
// server does not report sizes (STATUS=SIZE, RFC 8438).
type FolderInfo struct {
	Remote         string
	Local          string
	RemoteMessages uint32
	RemoteBytes    int64
	LocalMessages  uint32
	LocalBytes     int64
	Copied         int // in the ledger, at the remote folder's UIDVALIDITY
}

// Info is what Inspect found.
type Info struct {
	Folders []FolderInfo
	Skipped []folders.Skip
}

// Inspect counts folders, messages and bytes on both sides, changing
// nothing: one LIST and one STATUS per folder on each side, pipelined.
func Inspect(ctx context.Context, cfg Config) (*Info, error) {
	cfg.defaults()
	r := &run{cfg: cfg, sum: &Summary{}}
	rc, err := cfg.Remote(ctx)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	lc, err := cfg.Local(ctx)
	if err != nil {
		return nil, err
	}
	defer lc.Close()
	plan, _, err := r.plan(rc, lc)
	if err != nil {
		return nil, err
	}
	info := &Info{Skipped: plan.Skipped}
	opts := func(c *imapclient.Client) *imap.StatusOptions {
		return &imap.StatusOptions{NumMessages: true, UIDValidity: true, Size: c.Caps().Has(imap.CapStatusSize)}
	}
	remote := statuses(rc, opts(rc), plan.Folders, func(m folders.Mapping) string { return m.Remote.Name })
	local := statuses(lc, opts(lc), plan.Folders, func(m folders.Mapping) string { return m.Local })
	stats, err := cfg.Ledger.Stats()
	if err != nil {
		return nil, err
	}
	for i, m := range plan.Folders {
		info.Folders = append(info.Folders, folderInfo(m, remote[i], local[i], stats))
	}
	return info, nil
}

// statuses sends a STATUS for each folder before reading any answer; a
// folder that does not exist gives nil.
func statuses(c *imapclient.Client, opts *imap.StatusOptions, maps []folders.Mapping, name func(folders.Mapping) string) []*imap.StatusData {
	cmds := make([]*imapclient.StatusCommand, len(maps))
	for i, m := range maps {
		cmds[i] = c.Status(name(m), opts)
	}
	out := make([]*imap.StatusData, len(maps))
	for i, cmd := range cmds {
		out[i], _ = cmd.Wait()
	}
	return out
}

func folderInfo(m folders.Mapping, remote, local *imap.StatusData, stats []ledger.FolderStats) FolderInfo {
	fi := FolderInfo{Remote: m.Remote.Name, Local: m.Local, RemoteBytes: -1, LocalBytes: -1}
	if remote != nil {
		fi.RemoteMessages, fi.RemoteBytes = count(remote)
		for _, s := range stats {
			if s.Folder == m.Remote.Name && s.UIDValidity == remote.UIDValidity {
				fi.Copied = s.Done
			}
		}
	}
	if local != nil {
		fi.LocalMessages, fi.LocalBytes = count(local)
	}
	return fi
}

func count(s *imap.StatusData) (uint32, int64) {
	var n uint32
	if s.NumMessages != nil {
		n = *s.NumMessages
	}
	if s.Size == nil {
		return n, -1
	}
	return n, *s.Size
}
