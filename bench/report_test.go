//go:build bench

package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"
)

// report is what one corpus size gives: the setting, every run, and the
// median figures per tool. It is written as JSON and printed as a table.
type report struct {
	Date     string            `json:"date"`
	Machine  machine           `json:"machine"`
	Versions map[string]string `json:"versions"`
	N        int               `json:"messages"`
	Bytes    int64             `json:"bytes"`
	Folders  int               `json:"folders"`
	Big      map[string]int    `json:"big_messages"`
	Seed     uint64            `json:"seed"`
	RTTms    float64           `json:"rtt_ms"`
	Reps     int               `json:"reps"`
	Security string            `json:"security"`
	Results  []*toolResult     `json:"results"`
}

type machine struct {
	Nproc   int    `json:"nproc"`
	CPU     string `json:"cpu"`
	Kernel  string `json:"kernel"`
	MemMiB  int    `json:"mem_mib"`
	LoadAvg string `json:"loadavg_at_start"`
	Go      string `json:"go"`
}

type toolResult struct {
	Tool   string   `json:"tool"`
	Runs   []run    `json:"runs"`
	Median *figures `json:"median,omitempty"` // over the verified runs only
}

// figures are the medians; MB is 10^6 bytes, RSS in MiB.
type figures struct {
	OK         int     `json:"verified_runs"`
	Redone     int     `json:"disturbed_runs_redone"`
	CopyWall   float64 `json:"copy_wall_s"`
	MsgsPerSec float64 `json:"copy_msgs_per_s"`
	MBPerSec   float64 `json:"copy_mb_per_s"`
	CPU        float64 `json:"copy_cpu_s"`
	MaxRSS     float64 `json:"copy_maxrss_mib"`
	LocalCPU   float64 `json:"copy_local_dovecot_cpu_s"`
	RemoteCPU  float64 `json:"copy_remote_dovecot_cpu_s"`
	OtherCPU   float64 `json:"copy_other_cpu_s"`
	NoopWall   float64 `json:"noop_wall_s"`
	NoopCPU    float64 `json:"noop_cpu_s"`
	NoopRSS    float64 `json:"noop_maxrss_mib"`
	Check      string  `json:"verified"`
}

func newReport(e *env, p params, c *corpus) *report {
	med, lg, hg := bigCounts(len(c.Msgs))
	r := &report{
		Date: time.Now().UTC().Format(time.RFC3339), Machine: readMachine(),
		Versions: map[string]string{}, N: len(c.Msgs), Bytes: c.totalBytes(), Folders: len(folders),
		Big:  map[string]int{"0.1-1MB": med, "10MB": lg, "50MB": hg},
		Seed: p.seed, RTTms: float64(p.rtt) / float64(time.Millisecond), Reps: p.reps,
		Security: "plain IMAP on 127.0.0.1 (no TLS) for every tool, both sides",
	}
	for _, tl := range p.tools {
		r.Versions[tl.name] = e.version(tl.name)
		r.Results = append(r.Results, &toolResult{Tool: tl.name})
	}
	r.Versions["dovecot (both servers)"] = e.version("dovecot")
	return r
}

func (r *report) add(tool string, runs ...run) {
	for _, tr := range r.Results {
		if tr.Tool == tool {
			tr.Runs = append(tr.Runs, runs...)
		}
	}
}

// finish computes the medians over the runs whose result was verified; a
// tool without one gets no figure.
func (r *report) finish() {
	for _, tr := range r.Results {
		var ok []run
		redone := 0
		for _, x := range tr.Runs {
			if x.Err == "" && !x.Disturbed {
				ok = append(ok, x)
			}
			redone += b2i(x.Disturbed)
		}
		if len(ok) == 0 {
			continue
		}
		copyOf := func(f func(s *sample) float64) float64 { return median(ok, func(x run) float64 { return f(x.Copy) }) }
		noopOf := func(f func(s *sample) float64) float64 { return median(ok, func(x run) float64 { return f(x.Noop) }) }
		tr.Median = &figures{
			OK:         len(ok),
			Redone:     redone,
			CopyWall:   copyOf(func(s *sample) float64 { return s.Wall }),
			MsgsPerSec: copyOf(func(s *sample) float64 { return float64(r.N) / s.Wall }),
			MBPerSec:   copyOf(func(s *sample) float64 { return float64(r.Bytes) / 1e6 / s.Wall }),
			CPU:        copyOf(func(s *sample) float64 { return s.CPU }),
			MaxRSS:     copyOf(func(s *sample) float64 { return s.MaxRSS }),
			LocalCPU:   copyOf(func(s *sample) float64 { return s.LocalCPU }),
			RemoteCPU:  copyOf(func(s *sample) float64 { return s.RemoteCPU }),
			OtherCPU:   copyOf(func(s *sample) float64 { return s.OtherCPU }),
			NoopWall:   noopOf(func(s *sample) float64 { return s.Wall }),
			NoopCPU:    noopOf(func(s *sample) float64 { return s.CPU }),
			NoopRSS:    noopOf(func(s *sample) float64 { return s.MaxRSS }),
			Check:      ok[len(ok)-1].Check,
		}
	}
}

func median(runs []run, f func(run) float64) float64 {
	v := make([]float64, len(runs))
	for i, x := range runs {
		v[i] = f(x)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// print writes the table of medians.
func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\nN=%d (%.1f MB, %d folders), RTT +%gms, %d reps, %d cores, kernel %s\n",
		r.N, float64(r.Bytes)/1e6, r.Folders, r.RTTms, r.Reps, r.Machine.Nproc, r.Machine.Kernel)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tool\tok\tredone\tcopy s\tmsg/s\tMB/s\tCPU s\tRSS MiB\tlocal dovecot CPU s\tremote dovecot CPU s\tother CPU s\tno-op s\tno-op CPU s\tno-op RSS MiB\t")
	for _, tr := range r.Results {
		m := tr.Median
		if m == nil {
			fmt.Fprintf(tw, "%s\t0/%d\t\tno figure: %s\t\t\t\t\t\t\t\t\t\t\t\n", tr.Tool, r.Reps, firstErr(tr.Runs))
			continue
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%d\t%.2f\t%.0f\t%.1f\t%.2f\t%.1f\t%.2f\t%.2f\t%.2f\t%.3f\t%.3f\t%.1f\t\n",
			tr.Tool, m.OK, r.Reps, m.Redone, m.CopyWall, m.MsgsPerSec, m.MBPerSec, m.CPU, m.MaxRSS,
			m.LocalCPU, m.RemoteCPU, m.OtherCPU, m.NoopWall, m.NoopCPU, m.NoopRSS)
	}
	tw.Flush()
	for _, tr := range r.Results {
		if tr.Median != nil {
			fmt.Fprintf(w, "%s: verified %s\n", tr.Tool, tr.Median.Check)
		}
	}
}

func firstErr(runs []run) string {
	for _, x := range runs {
		if x.Err != "" {
			return strings.SplitN(x.Err, "\n", 2)[0]
		}
	}
	return ""
}

// save writes the JSON next to the earlier results and returns its path.
func (r *report) save(t testing.TB, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("bench: results: %v", err)
	}
	name := fmt.Sprintf("bench-N%d-rtt%gms-%s.json", r.N, r.RTTms, time.Now().UTC().Format("20060102T150405Z"))
	path, _ := filepath.Abs(filepath.Join(dir, name))
	b, _ := json.MarshalIndent(r, "", "  ")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatalf("bench: results: %v", err)
	}
	return path
}

func readMachine() machine {
	m := machine{Nproc: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	m.CPU = procField("/proc/cpuinfo", "model name")
	fmt.Sscanf(procField("/proc/meminfo", "MemTotal"), "%d", &m.MemMiB)
	m.MemMiB /= 1024
	return m
}

// procField is the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	b, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
