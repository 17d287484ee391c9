//go:build bench

package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"text/tabwriter"
	"time"
)

// inboxReport is what the INBOX benchmark gives for one corpus size.
type inboxReport struct {
	Mode     string            `json:"mode"`
	Date     string            `json:"date"`
	Machine  machine           `json:"machine"`
	Versions map[string]string `json:"versions"`
	N        int               `json:"messages"`
	Bytes    int64             `json:"bytes"`
	Filed    map[string]int    `json:"sieve_folders"`
	Seed     uint64            `json:"seed"`
	RTTms    float64           `json:"rtt_ms"`
	Reps     int               `json:"reps"`
	Setting  string            `json:"setting"`
	Results  []*inboxResult    `json:"results"`
}

type inboxResult struct {
	Tool   string        `json:"tool"`
	Socket string        `json:"lmtp_socket"`
	Runs   []inboxRun    `json:"runs"`
	Median *inboxFigures `json:"median,omitempty"`
	Ratio  float64       `json:"msgs_per_s_vs_fetchmail,omitempty"` // on the same socket
}

type inboxFigures struct {
	OK            int     `json:"verified_runs"`
	Redone        int     `json:"disturbed_runs_redone"`
	Wall          float64 `json:"wall_s"`
	MsgsPerSec    float64 `json:"msgs_per_s"`
	MBPerSec      float64 `json:"mb_per_s"`
	CPU           float64 `json:"cpu_s"`
	MaxRSS        float64 `json:"maxrss_mib"`
	LocalCPU      float64 `json:"local_dovecot_cpu_s"`
	LocalCPUPerMs float64 `json:"local_dovecot_cpu_ms_per_msg"`
	RemoteCPU     float64 `json:"remote_dovecot_cpu_s"`
	OtherCPU      float64 `json:"other_cpu_s"`
}

func newInboxReport(e *env, p params, ic *inboxCorpus) *inboxReport {
	r := &inboxReport{
		Mode: "inbox", Date: time.Now().UTC().Format(time.RFC3339), Machine: readMachine(),
		Versions: map[string]string{}, N: len(ic.Msgs), Bytes: ic.totalBytes(), Filed: ic.filed(),
		Seed: p.seed, RTTms: float64(p.rtt) / float64(time.Millisecond), Reps: p.reps,
		Setting: "remote: plain IMAP on 127.0.0.1; local: Dovecot LMTP with Sieve, on a unix socket or TCP 127.0.0.1",
	}
	for _, tl := range p.inboxTools {
		r.Versions[tl.name] = e.version(tl.name)
	}
	r.Versions["dovecot (both servers)"] = e.version("dovecot")
	for _, sock := range p.sockets {
		for _, tl := range p.inboxTools {
			r.Results = append(r.Results, &inboxResult{Tool: tl.name, Socket: sock})
		}
	}
	return r
}

func (r *inboxReport) add(tool, sock string, runs ...inboxRun) {
	for _, x := range r.Results {
		if x.Tool == tool && x.Socket == sock {
			x.Runs = append(x.Runs, runs...)
		}
	}
}

func (r *inboxReport) finish() {
	for _, x := range r.Results {
		var ok []*sample
		redone := 0
		for _, run := range x.Runs {
			if run.Err == "" && !run.Disturbed {
				ok = append(ok, run.Copy)
			}
			redone += b2i(run.Disturbed)
		}
		if len(ok) == 0 {
			continue
		}
		med := func(f func(s *sample) float64) float64 {
			v := make([]float64, len(ok))
			for i, s := range ok {
				v[i] = f(s)
			}
			slices.Sort(v)
			if len(v)%2 == 1 {
				return v[len(v)/2]
			}
			return (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		x.Median = &inboxFigures{
			OK: len(ok), Redone: redone,
			Wall:          med(func(s *sample) float64 { return s.Wall }),
			MsgsPerSec:    med(func(s *sample) float64 { return float64(r.N) / s.Wall }),
			MBPerSec:      med(func(s *sample) float64 { return float64(r.Bytes) / 1e6 / s.Wall }),
			CPU:           med(func(s *sample) float64 { return s.CPU }),
			MaxRSS:        med(func(s *sample) float64 { return s.MaxRSS }),
			LocalCPU:      med(func(s *sample) float64 { return s.LocalCPU }),
			LocalCPUPerMs: med(func(s *sample) float64 { return s.LocalCPU * 1000 / float64(r.N) }),
			RemoteCPU:     med(func(s *sample) float64 { return s.RemoteCPU }),
			OtherCPU:      med(func(s *sample) float64 { return s.OtherCPU }),
		}
	}
	for _, x := range r.Results {
		for _, y := range r.Results {
			if y.Tool == "fetchmail" && y.Socket == x.Socket && x.Median != nil && y.Median != nil {
				x.Ratio = x.Median.MsgsPerSec / y.Median.MsgsPerSec
			}
		}
	}
}

func (r *inboxReport) print(w io.Writer) {
	fmt.Fprintf(w, "\nINBOX mode: N=%d (%.1f MB, Sieve files %v), RTT +%gms, %d reps, %d cores, kernel %s\n",
		r.N, float64(r.Bytes)/1e6, r.Filed, r.RTTms, r.Reps, r.Machine.Nproc, r.Machine.Kernel)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tool\tLMTP\tok\tredone\twall s\tmsg/s\tvs fetchmail\tMB/s\tCPU s\tRSS MiB\tlocal dovecot CPU s\tlocal ms/msg\tremote dovecot CPU s\tother CPU s\t")
	for _, x := range r.Results {
		m := x.Median
		if m == nil {
			fmt.Fprintf(tw, "%s\t%s\t0/%d\t\tno figure: %s\t\t\t\t\t\t\t\t\t\t\n", x.Tool, x.Socket, r.Reps, firstInboxErr(x.Runs))
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%d\t%.2f\t%.0f\t%.2fx\t%.1f\t%.2f\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t\n",
			x.Tool, x.Socket, m.OK, r.Reps, m.Redone, m.Wall, m.MsgsPerSec, x.Ratio, m.MBPerSec, m.CPU, m.MaxRSS,
			m.LocalCPU, m.LocalCPUPerMs, m.RemoteCPU, m.OtherCPU)
	}
	tw.Flush()
}

func firstInboxErr(runs []inboxRun) string {
	for _, x := range runs {
		if x.Err != "" {
			return firstLine(x.Err)
		}
	}
	return ""
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}

func (r *inboxReport) save(t testing.TB, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("bench: results: %v", err)
	}
	name := fmt.Sprintf("bench-inbox-N%d-rtt%gms-%s.json", r.N, r.RTTms, time.Now().UTC().Format("20060102T150405Z"))
	path, _ := filepath.Abs(filepath.Join(dir, name))
	b, _ := json.MarshalIndent(r, "", "  ")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatalf("bench: results: %v", err)
	}
	return path
}
