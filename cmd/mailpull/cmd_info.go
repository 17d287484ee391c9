package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/mailpull/mailpull/sync/mirror"
	"github.com/mailpull/mailpull/task"
)

func runInfo(ctx context.Context, e *env, args []string) error {
	fs := newFlags("info")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	te, t, err := e.oneTask(fs)
	if err != nil {
		return err
	}
	cfg, done, err := te.session(ctx, e, t)
	if err != nil {
		return err
	}
	defer done()
	info, err := mirror.Inspect(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, infoJSON(t, info))
	}
	printInfo(e, info)
	return nil
}

type folderJSON struct {
	Remote         string `json:"remote"`
	Local          string `json:"local"`
	RemoteMessages uint32 `json:"remote_messages"`
	RemoteBytes    int64  `json:"remote_bytes"`
	LocalMessages  uint32 `json:"local_messages"`
	LocalBytes     int64  `json:"local_bytes"`
	Copied         int    `json:"copied"`
}

func infoJSON(t task.Task, info *mirror.Info) any {
	folders := []folderJSON{}
	for _, f := range info.Folders {
		folders = append(folders, folderJSON(f))
	}
	skipped := []string{}
	for _, s := range info.Skipped {
		skipped = append(skipped, s.Remote+": "+s.Reason)
	}
	return struct {
		Task    string       `json:"task"`
		Folders []folderJSON `json:"folders"`
		Skipped []string     `json:"skipped_folders"`
	}{t.ID, folders, skipped}
}

func printInfo(e *env, info *mirror.Info) {
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "REMOTE FOLDER\tMESSAGES\tBYTES\tLOCAL FOLDER\tMESSAGES\tBYTES\tCOPIED\t")
	var rm, lm uint32
	var rb, lb int64
	var copied int
	for _, f := range info.Folders {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\t%d\t\n", f.Remote, f.RemoteMessages, humanBytes(f.RemoteBytes),
			f.Local, f.LocalMessages, humanBytes(f.LocalBytes), f.Copied)
		rm, lm, copied = rm+f.RemoteMessages, lm+f.LocalMessages, copied+f.Copied
		rb, lb = rb+max(f.RemoteBytes, 0), lb+max(f.LocalBytes, 0)
	}
	fmt.Fprintf(tw, "total\t%d\t%s\t\t%d\t%s\t%d\t\n", rm, humanBytes(rb), lm, humanBytes(lb), copied)
	tw.Flush()
	for _, s := range info.Skipped {
		fmt.Fprintf(e.stdout, "skipped: %s: %s\n", s.Remote, s.Reason)
	}
}

func humanBytes(n int64) string {
	if n < 0 {
		return "-"
	}
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
