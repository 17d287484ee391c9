package mirror

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/sync/folders"
)

// prepare lists and maps the remote folders, settles what a dead run left
// open, and creates the local folders. It returns its connections, which
// the first folder worker goes on with rather than logging in again; the
// caller closes them.
func (r *run) prepare(ctx context.Context) (folders.Plan, rune, *pair, error) {
	rc, err := r.cfg.Remote(ctx)
	if err != nil {
		return folders.Plan{}, 0, nil, err
	}
	lc, err := r.cfg.Local(ctx)
	if err != nil {
		rc.Close()
		return folders.Plan{}, 0, nil, err
	}
	conns := &pair{remote: rc, local: lc}
	fail := func(err error) error {
		_, err = conns.lost(err)
		conns.close()
		return err
	}
	plan, sep, err := r.plan(rc, lc)
	if err != nil {
		return plan, sep, nil, fail(err)
	}
	if err := r.settle(lc); err != nil {
		return plan, sep, nil, fail(err)
	}
	refused, err := r.create(lc, plan.Create)
	if err != nil {
		return plan, sep, nil, fail(err)
	}
	plan = skipRefused(plan, refused, sep)
	r.status = remoteStatus(rc, plan.Folders, r.first)
	if conns.broken() {
		conns.close()
		conns = nil
	}
	return plan, sep, conns, nil
}

func (r *run) plan(rc, lc *imapclient.Client) (folders.Plan, rune, error) {
	listing, err := folders.List(rc)
	if err != nil {
		return folders.Plan{}, 0, fmt.Errorf("list remote folders: %w", err)
	}
	r.listing = listing
	sep, err := separator(lc)
	if err != nil {
		return folders.Plan{}, 0, err
	}
	opts, err := folders.NewOptions(r.cfg.Task)
	if err != nil {
		return folders.Plan{}, 0, err
	}
	return folders.Map(listing, sep, opts), sep, nil
}

// separator asks the local server for its hierarchy separator (RFC 3501
// §6.3.8: LIST "" "" returns the root and the delimiter).
func separator(lc *imapclient.Client) (rune, error) {
	list, err := lc.List("", "", nil).Collect()
	if err != nil {
		return 0, fmt.Errorf("local hierarchy separator: %w", err)
	}
	if len(list) == 0 || list[0].Delim == 0 {
		return 0, errors.New("local server has a flat namespace: cannot reproduce folders")
	}
	return list[0].Delim, nil
}

// create makes the local folders that do not exist yet, and subscribes them
// so that mail clients show them. A folder the local server refuses to
// create (a name too long for its file system, say) is returned with the
// refusal, and the run goes on without it: one name must not stop the
// account.
func (r *run) create(lc *imapclient.Client, names []string) (map[string]error, error) {
	have, err := localFolders(lc)
	if err != nil {
		return nil, err
	}
	refused := map[string]error{}
	for _, name := range names {
		if have[name] {
			continue
		}
		if !r.cfg.DryRun {
			err := lc.Create(name, nil).Wait()
			var ie *imap.Error
			if errors.As(err, &ie) && !alreadyExists(err) {
				r.cfg.Log.Warn("local folder refused", "folder", name, "err", err)
				refused[name] = err
				continue
			}
			if err != nil && !alreadyExists(err) {
				return nil, fmt.Errorf("create local folder %q: %w", name, err)
			}
			if err := lc.Subscribe(name).Wait(); err != nil {
				return nil, fmt.Errorf("subscribe local folder %q: %w", name, err)
			}
		}
		r.cfg.Log.Info("folder created", "folder", name, "dry_run", r.cfg.DryRun)
		r.record(func(s *Summary) { s.Created = append(s.Created, name) })
	}
	return refused, nil
}

// skipRefused moves the folders whose local folder, or one of its parents,
// could not be created from the plan's folders to its skipped ones.
func skipRefused(plan folders.Plan, refused map[string]error, sep rune) folders.Plan {
	if len(refused) == 0 {
		return plan
	}
	var keep []folders.Mapping
	for _, m := range plan.Folders {
		if err := refusedAt(m.Local, refused, sep); err != nil {
			plan.Skipped = append(plan.Skipped, folders.Skip{Remote: m.Remote.Name, Reason: "the local server cannot create it: " + err.Error()})
			continue
		}
		keep = append(keep, m)
	}
	plan.Folders = keep
	return plan
}

func refusedAt(local string, refused map[string]error, sep rune) error {
	for name, err := range refused {
		if local == name || strings.HasPrefix(local, name+string(sep)) {
			return err
		}
	}
	return nil
}

func localFolders(lc *imapclient.Client) (map[string]bool, error) {
	list, err := lc.List("", "*", nil).Collect()
	if err != nil {
		return nil, fmt.Errorf("list local folders: %w", err)
	}
	have := map[string]bool{"INBOX": true}
	for _, l := range list {
		have[l.Mailbox] = true
	}
	return have, nil
}

func alreadyExists(err error) bool {
	var ie *imap.Error
	return errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists
}
