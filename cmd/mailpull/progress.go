package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows how far a run got to whoever watches it: systemd's
// STATUS=, which "systemctl status" and "mailpull status" show, under a
// unit; a bar on a terminal; else a plain line now and then, which a log
// file or a CI job keeps readably. The folders copied at once report
// concurrently.
type progress struct {
	mu      sync.Mutex
	folders map[string]folderProgress
	done    int                      // the folders' done, added up as they change
	total   int                      // and their totals
	notify  bool                     // systemd listens (NOTIFY_SOCKET)
	bar     *progressbar.ProgressBar // on a terminal
	lines   io.Writer                // plain lines, elsewhere
	every   time.Duration            // between STATUS= updates or plain lines
	last    time.Time
	verb    string // what happens to a message: copied, delivered
}

type folderProgress struct{ done, total int }

// plainEvery is the pace of the plain lines: often enough to show a long
// run is alive, rarely enough to keep a log short.
const plainEvery = 10 * time.Second

// newProgress returns the progress of a run, or nil when nobody watches
// (a run under the journal without systemd listening).
func newProgress(e *env, verb string) *progress {
	p := &progress{folders: map[string]folderProgress{}, every: time.Second, verb: verb}
	switch {
	case os.Getenv("NOTIFY_SOCKET") != "":
		p.notify = true
	case e.journal:
		return nil
	case isTerminal(e.stderr):
		p.bar = progressbar.NewOptions(0, progressbar.OptionSetWriter(e.stderr),
			progressbar.OptionSetWidth(30), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("msg"), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(), progressbar.OptionSetDescription("starting"))
	default:
		p.lines, p.every = e.stderr, plainEvery
	}
	return p
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// update records where a folder stands: done of total messages.
func (p *progress) update(folder string, done, total int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.folders[folder]
	p.done += done - old.done
	p.total += total - old.total
	p.folders[folder] = folderProgress{done, total}
	if p.bar != nil {
		p.bar.ChangeMax(p.total)
		p.bar.Describe(folder)
		_ = p.bar.Set(p.done)
		return
	}
	if time.Since(p.last) < p.every {
		return
	}
	p.last = time.Now()
	if p.notify {
		_, _ = daemon.SdNotify(false, "STATUS="+p.status())
		return
	}
	fmt.Fprintf(p.lines, "mailpull: %s\n", p.status())
}

// finish clears the bar, so that the summary follows on a clean line.
func (p *progress) finish() {
	if p == nil || p.bar == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.bar.Finish()
}

// status reads "copied 1200 messages; INBOX 900/5000, Sent 300/310": the
// total, then the folders still in progress.
func (p *progress) status() string {
	var open []string
	for name, f := range p.folders {
		if f.done < f.total {
			open = append(open, fmt.Sprintf("%s %d/%d", name, f.done, f.total))
		}
	}
	sort.Strings(open)
	s := fmt.Sprintf("%s %d messages", p.verb, p.done)
	if len(open) > 0 {
		s += "; " + strings.Join(open, ", ")
	}
	return s
}
