package mirror

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/sync/folders"
	"github.com/mailpull/mailpull/task"
)

// remoteStatus reads every mapped folder's STATUS in one pipelined burst on
// the connection prepare already has, so that an unchanged account costs no
// further connection: only the folders that changed go to the workers.
// With sizes (a first run, where every folder is copied anyway, so that
// the server's cost of adding up the sizes does not weigh on the runs that
// find nothing new) the workers take the largest folders first.
func remoteStatus(rc *imapclient.Client, maps []folders.Mapping, sizes bool) map[string]*imap.StatusData {
	opts := &imap.StatusOptions{UIDNext: true, UIDValidity: true, NumMessages: true,
		HighestModSeq: rc.Caps().Has(imap.CapCondStore), Size: sizes && rc.Caps().Has(imap.CapStatusSize)}
	list := statuses(rc, opts, maps, func(m folders.Mapping) string { return m.Remote.Name })
	out := make(map[string]*imap.StatusData, len(maps))
	for i, m := range maps {
		if list[i] != nil {
			out[m.Remote.Name] = list[i]
		}
	}
	return out
}

// changed keeps the folders a worker must look at: those whose STATUS moved
// since the last complete pass, or could not be read. With remote deletion
// on, every folder goes, since older-than deletes from unchanged folders.
func (r *run) changed(maps []folders.Mapping) []folders.Mapping {
	if r.cfg.Task.DeleteRemote != task.DeleteNone {
		return maps
	}
	var out []folders.Mapping
	for _, m := range maps {
		st := r.status[m.Remote.Name]
		if st == nil {
			out = append(out, m)
			continue
		}
		prev, known, err := r.cfg.Ledger.Folder(m.Remote.Name, st.UIDValidity)
		if err != nil || !known || !unchanged(prev, st, m.Local) {
			out = append(out, m)
		}
	}
	return out
}
