package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mailpull/mailpull/sync/mirror"
	"github.com/mailpull/mailpull/task"
)

func runSync(ctx context.Context, e *env, args []string) error {
	fs := newFlags("sync")
	dryRun := fs.Bool("dry-run", false, "print what would be created, copied, updated and deleted; change nothing")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	force := fs.Bool("force", false, "let delete-local remove more than 10% of a folder in this run")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("sync: want one task id")
	}
	te, err := e.tasks()
	if err != nil {
		return err
	}
	t, err := te.loadRun(fs.Arg(0))
	if err != nil {
		return err
	}
	if t.Folders == task.FoldersInbox {
		return te.syncInbox(ctx, e, t, *dryRun, *asJSON)
	}
	start := time.Now()
	sum, err := te.mirror(ctx, e, t, runOptions{dryRun: *dryRun, force: *force})
	if errors.Is(err, mirror.ErrPartial) {
		err = &exitError{code: ExitPartial, err: err}
	}
	err = stopped(ctx, err)
	if sum != nil {
		if printSummary(e, t, sum, err, time.Since(start), *asJSON, *dryRun) && err != nil {
			return &loggedError{err}
		}
	}
	return err
}

// stopped marks the end of a run that was asked to stop (SIGTERM from
// "systemctl stop" or "mailpull stop", ^C) as a temporary failure: what
// was copied is in the ledger, and a copy in flight stays an open intent
// that the next run settles.
func stopped(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil {
		return err
	}
	return &exitError{code: ExitTempFail, err: fmt.Errorf("stopped before the end; the next run goes on from here: %w", err)}
}

// runOptions are the sync flags that change what a run may do.
type runOptions struct{ dryRun, force bool }

func (te taskEnv) mirror(ctx context.Context, e *env, t task.Task, o runOptions) (*mirror.Summary, error) {
	cfg, done, err := te.session(ctx, e, t)
	if err != nil {
		return nil, err
	}
	defer done()
	cfg.DryRun, cfg.Force = o.dryRun, o.force
	p := newProgress(e, "copied")
	cfg.Progress = func(m mirror.Progress) { p.update(m.Folder, m.Done, m.Total) }
	defer p.finish()
	return mirror.Run(ctx, cfg)
}

type summaryJSON struct {
	Task          string   `json:"task"`
	DryRun        bool     `json:"dry_run,omitempty"`
	Copied        int      `json:"copied"`
	Adopted       int      `json:"adopted"`
	Skipped       int      `json:"skipped"`
	FlagsUpdated  int      `json:"flags_updated"`
	DeletedRemote int      `json:"deleted_remote"`
	DeletedLocal  int      `json:"deleted_local"`
	Created       []string `json:"created_folders"`
	Removed       []string `json:"removed_folders"`
	Failed        []string `json:"failed"`
	Skips         []string `json:"skipped_folders"`
	Seconds       float64  `json:"seconds"`
	ExitCode      int      `json:"exit_code"`
}

// printSummary prints the summary of a run, or, under the journal, logs it
// with fields and reports true.
func printSummary(e *env, t task.Task, s *mirror.Summary, err error, d time.Duration, asJSON, dryRun bool) (logged bool) {
	j := summaryJSON{Task: t.ID, DryRun: dryRun, Copied: s.Copied, Adopted: s.Adopted, Skipped: s.Skipped,
		FlagsUpdated: s.FlagsUpdated, DeletedRemote: s.DeletedRemote, DeletedLocal: s.DeletedLocal,
		Created: nonNil(s.Created), Removed: nonNil(s.Removed), Failed: []string{}, Skips: []string{},
		Seconds: d.Seconds(), ExitCode: exitCode(err)}
	if err == nil {
		j.ExitCode = ExitOK
	}
	for _, f := range s.Failed {
		j.Failed = append(j.Failed, f.Error())
	}
	for _, sk := range s.SkippedFolders {
		j.Skips = append(j.Skips, sk.Remote+": "+sk.Reason)
	}
	if asJSON {
		writeJSON(e.stdout, j)
		return false
	}
	if e.journal {
		logSummary(e, t.ID, t.LocalUser, runCounts{copied: j.Copied, skipped: j.Skipped,
			deleted: j.DeletedRemote + j.DeletedLocal, errors: len(j.Failed), exitCode: j.ExitCode, seconds: j.Seconds}, err,
			"mode", "mirror", "dry_run", dryRun, "recovered", j.Adopted, "flags_updated", j.FlagsUpdated,
			"deleted_remote", j.DeletedRemote, "deleted_local", j.DeletedLocal,
			"folders_created", len(j.Created), "folders_removed", len(j.Removed), "folders_skipped", len(j.Skips))
		return true
	}
	fmt.Fprintf(e.stdout, "task %s: %scopied %d, already there %d, recovered %d, flags updated %d, deleted remote %d, deleted local %d, folders created %d, removed %d, skipped %d, failed %d, exit %d, %.1fs\n",
		t.ID, dryRunPrefix(j.DryRun), j.Copied, j.Skipped, j.Adopted, j.FlagsUpdated, j.DeletedRemote, j.DeletedLocal,
		len(j.Created), len(j.Removed), len(j.Skips), len(j.Failed), j.ExitCode, j.Seconds)
	for _, f := range j.Failed {
		fmt.Fprintf(e.stdout, "  failed: %s\n", f)
	}
	return false
}

func dryRunPrefix(dry bool) string {
	if dry {
		return "dry run, nothing changed: would have "
	}
	return ""
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
