package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/sync/folders"
	"github.com/mailpull/mailpull/sync/ledger"
	"github.com/mailpull/mailpull/sync/remote"
)

// copyFolder copies todo in batches; once every message is local it records
// the remote STATUS, so that the next run skips the folder if nothing moved.
func (r *run) copyFolder(ctx context.Context, p *pair, m folders.Mapping, st *imap.StatusData, todo []imap.UID) error {
	if r.cfg.DryRun {
		r.cfg.Log.Info("would copy", "folder", m.Remote.Name, "to", m.Local, "messages", len(todo))
		r.record(func(s *Summary) { s.Copied += len(todo) })
		return nil
	}
	b := &batcher{run: r, ctx: ctx, p: p, m: m, uidvalidity: st.UIDValidity, total: len(todo)}
	if err := b.selectLocal(); err != nil {
		return err
	}
	failed := 0
	for start := 0; start < len(todo); start += r.cfg.Batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min(start+r.cfg.Batch, len(todo))
		n, err := b.copy(todo[start:end])
		if err != nil {
			return err
		}
		failed += n
	}
	if failed > 0 || r.failedIn(m.Remote.Name) {
		// The failures are recorded; the folder is not complete, or a flag
		// change or deletion is still owed: the next run must look again.
		return nil
	}
	if b.localUIDValidity == 0 { // nothing copied this time: no intent asked
		v, err := localUIDValidity(p.local, m.Local)
		if err != nil {
			return err
		}
		b.localUIDValidity = v
	}
	return r.cfg.Ledger.SetFolder(m.Remote.Name, st.UIDValidity, ledger.FolderState{
		LocalFolder: m.Local, LocalUIDValidity: b.localUIDValidity,
		UIDNext: uint32(st.UIDNext), Messages: deref(st.NumMessages), HighestModSeq: st.HighestModSeq,
	})
}

func localUIDValidity(lc *imapclient.Client, folder string) (uint32, error) {
	st, err := lc.Status(folder, &imap.StatusOptions{UIDValidity: true}).Wait()
	if err != nil {
		return 0, fmt.Errorf("local status %q: %w", folder, err)
	}
	return st.UIDValidity, nil
}

func deref(p *uint32) uint32 {
	if p == nil {
		return 0
	}
	return *p
}

// batcher copies the batches of one folder.
type batcher struct {
	*run
	ctx              context.Context
	cuts             remote.Cuts     // reconnections after a message broke the remote connection
	refused          map[uint32]bool // remote UIDs the local server refused
	p                *pair
	m                folders.Mapping
	uidvalidity      uint32
	localUIDValidity uint32
	total, done      int
	early            *earlyFetch // the batch's first body FETCH, sent ahead
}

// copy copies one batch under one intent and returns how many messages of it
// failed. An error means the connection is unusable.
func (b *batcher) copy(uids []imap.UID) (int, error) {
	if len(uids) == 0 {
		return 0, nil
	}
	metas, omitted, err := b.metas(uids)
	if err != nil {
		return b.metaCut(uids, err)
	}
	if len(metas) == 0 {
		return omitted, nil // expunged meanwhile, or left out and failed
	}
	byUID := make(map[uint32]meta, len(metas))
	for _, m := range metas {
		byUID[m.uid] = m
	}
	b.fetchEarly(byUID)
	defer b.dropEarly()
	in, err := b.begin(metas)
	if err != nil {
		return 0, err
	}
	mappings, err := b.stream(byUID)
	var cut *remote.CutError
	if errors.As(err, &cut) {
		return b.afterCut(in, uids, cut)
	}
	if err != nil {
		return 0, err // the intent stays open; the next run settles it
	}
	if err := b.cfg.Ledger.Commit(in.ID, mappings); err != nil {
		return 0, err
	}
	b.record(func(s *Summary) { s.Copied += len(mappings) })
	return omitted + len(metas) - len(mappings), nil
}

// selectLocal opens the local folder before its appends: Dovecot appends
// into an open mailbox at about half the cost of one it must open, sync and
// close for every APPEND (measured on the rig: 0.87 s against 1.61 s of
// server CPU for 1,500 messages).
func (b *batcher) selectLocal() error {
	if b.total == 0 {
		return nil
	}
	if _, err := b.p.local.Select(b.m.Local, nil).Wait(); err != nil {
		return fmt.Errorf("select local %q: %w", b.m.Local, err)
	}
	return nil
}

// begin records the intent, with the local folder's UIDNEXT: after a crash,
// the copies can only be above it.
func (b *batcher) begin(metas []meta) (ledger.Intent, error) {
	st, err := b.p.local.Status(b.m.Local, &imap.StatusOptions{UIDNext: true, UIDValidity: true}).Wait()
	if err != nil {
		return ledger.Intent{}, fmt.Errorf("local status %q: %w", b.m.Local, err)
	}
	b.localUIDValidity = st.UIDValidity
	in := ledger.Intent{Folder: b.m.Remote.Name, UIDValidity: b.uidvalidity, LocalFolder: b.m.Local,
		LocalUIDValidity: st.UIDValidity, LocalUIDNext: uint32(st.UIDNext)}
	for _, m := range metas {
		in.Messages = append(in.Messages, ledger.IntentMessage{UID: m.uid, Size: m.size, Date: m.date, MessageID: m.messageID})
	}
	in.ID, err = b.cfg.Ledger.Begin(in)
	return in, err
}

// stream fetches the bodies and appends them as they arrive, then retries
// one by one the messages the server left out of its answer.
func (b *batcher) stream(want map[uint32]meta) ([]ledger.Mapping, error) {
	got, err := b.copyInOrder(want)
	if err != nil {
		return nil, err
	}
	for _, uid := range slices.Sorted(maps.Keys(want)) { // in order, as the local folder keeps it
		if _, ok := got[uid]; ok || b.refused[uid] {
			continue
		}
		// A FETCH answer may omit a message, or carry its UID after the body,
		// which go-imap cannot place: ask for it alone.
		local, ok, err := b.copyAlone(want[uid])
		if err != nil {
			return nil, err
		}
		if ok {
			got[uid] = local
		}
	}
	var out []ledger.Mapping
	for uid, local := range got {
		out = append(out, ledger.Mapping{RemoteUID: uid, LocalUID: local})
	}
	return out, nil
}

func uidsOf(want map[uint32]meta) []imap.UID {
	out := make([]imap.UID, 0, len(want))
	for uid := range want {
		out = append(out, imap.UID(uid))
	}
	return out
}

// appended is an APPEND in flight.
type appended struct {
	uid uint32
	cmd *imapclient.AppendCommand
}

// earlyFetch is a batch's first body FETCH, sent before the batch's intent is
// recorded: its answer waits in the socket (go-imap reads a literal only as
// it is consumed) while the ledger writes the intent, so the round trip to
// the remote overlaps that write. Nothing is appended before the intent is
// recorded.
type earlyFetch struct {
	uids []imap.UID
	cmd  *imapclient.FetchCommand
}

// fetchEarly sends the FETCH of the bodies that copyInOrder streams first:
// the batch's leading run of messages below SpoolAbove.
func (b *batcher) fetchEarly(want map[uint32]meta) {
	uids := uidsOf(want)
	slices.Sort(uids)
	var run []imap.UID
	for _, uid := range uids {
		if want[uint32(uid)].size >= b.cfg.SpoolAbove {
			break
		}
		run = append(run, uid)
	}
	if len(run) > 0 {
		b.early = &earlyFetch{uids: run, cmd: fetchBodies(b.p.remote, run)}
	}
}

// dropEarly reads past the answer of an early FETCH that was not used (the
// intent could not be recorded): the connection stays usable.
func (b *batcher) dropEarly() {
	if b.early != nil {
		b.early.cmd.Close()
		b.early = nil
	}
}

func fetchBodies(rc *imapclient.Client, uids []imap.UID) *imapclient.FetchCommand {
	return rc.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
}

// fetchAppend streams each body into a local APPEND. The APPENDs are waited
// for at the end, so that they pipeline.
func (b *batcher) fetchAppend(want map[uint32]meta, uids []imap.UID) (map[uint32]uint32, error) {
	if len(uids) == 0 {
		return map[uint32]uint32{}, nil // an empty UID set is a syntax error
	}
	var cmd *imapclient.FetchCommand
	if b.early != nil && slices.Equal(b.early.uids, uids) {
		cmd = b.early.cmd
		b.early = nil
	} else {
		b.dropEarly()
		cmd = fetchBodies(b.p.remote, uids)
	}
	var inflight []appended
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		b.p.touch()
		a, err := b.appendOne(msg, want)
		if err != nil {
			cmd.Close()
			return nil, b.settleBeforeCut(inflight, err)
		}
		if a.cmd != nil {
			inflight = append(inflight, a)
		}
	}
	if err := cmd.Close(); err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	return b.wait(inflight)
}

// settleBeforeCut waits, when the remote cut a body off, for the APPENDs
// sent whole before it: the local server answers them before it reads the
// cut one's literal, and the reconnection that follows closes the local
// connection. Without the wait, the old connection's server process could
// still be storing them while the new one looks for the batch's copies,
// and they would be copied again.
func (b *batcher) settleBeforeCut(inflight []appended, err error) error {
	var cut *remote.CutError
	if !errors.As(err, &cut) {
		return err
	}
	for _, a := range inflight {
		a.cmd.Wait() // its outcome is read back from the local folder
	}
	return err
}

// appendOne reads one FETCH answer: its UID first, then its body, which goes
// straight into a local APPEND. A body whose UID is unknown is discarded.
func (b *batcher) appendOne(msg *imapclient.FetchMessageData, want map[uint32]meta) (appended, error) {
	var uid uint32
	for it := msg.Next(); it != nil; it = msg.Next() {
		switch it := it.(type) {
		case imapclient.FetchItemDataUID:
			uid = uint32(it.UID)
		case imapclient.FetchItemDataBodySection:
			m, ok := want[uid]
			if !ok || it.Literal == nil {
				continue // read past by go-imap
			}
			cmd, err := b.append(m, it.Literal, it.Literal.Size())
			return appended{uid, cmd}, err
		}
	}
	return appended{}, nil
}

func (b *batcher) append(m meta, body io.Reader, size int64) (*imapclient.AppendCommand, error) {
	cmd := b.p.local.Append(b.m.Local, size, &imap.AppendOptions{Flags: m.flags, Time: m.date})
	cr := &remote.CutReader{R: body}
	n, err := io.Copy(cmd, cr)
	if cr.Cut(size) {
		return nil, cr.BodyCut(m.uid, size, cr.Err) // the APPEND is left unfinished: reconnect drops it
	}
	if cerr := cmd.Close(); err == nil {
		err = cerr
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		// Refused before the body was sent (a synchronizing literal): this
		// message fails, the connection is fine.
		b.refuse(m.uid, err)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("append to %q: %w", b.m.Local, err)
	}
	b.done++
	b.progress(n)
	return cmd, nil
}

// wait collects the APPEND results. A refused APPEND (quota, size) fails its
// message only.
func (b *batcher) wait(inflight []appended) (map[uint32]uint32, error) {
	got := map[uint32]uint32{}
	for _, a := range inflight {
		data, err := a.cmd.Wait()
		b.p.touch()
		var ie *imap.Error
		switch {
		case errors.As(err, &ie):
			b.refuse(a.uid, err)
		case err != nil:
			return nil, fmt.Errorf("append to %q: %w", b.m.Local, err)
		default:
			got[a.uid] = uint32(data.UID)
		}
	}
	return got, nil
}

// refuse fails a message the local server refused, once: the refusal is
// an answer, and the message is not asked for again.
func (b *batcher) refuse(uid uint32, err error) {
	if b.refused == nil {
		b.refused = map[uint32]bool{}
	}
	b.refused[uid] = true
	b.fail(b.m.Remote.Name, uid, fmt.Errorf("append to %q: %w", b.m.Local, err))
}

func (b *batcher) progress(n int64) {
	if b.cfg.Progress == nil {
		return
	}
	b.cfg.Progress(Progress{Folder: b.m.Remote.Name, Done: b.done, Total: b.total, Bytes: n})
}
