//go:build bench

package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sample is one timed run of a tool.
type sample struct {
	Wall float64 `json:"wall_s"`
	CPU  float64 `json:"cpu_s"` // user+sys of the tool and its children
	// MaxRSS is the tool process's peak resident set (VmHWM), sampled
	// every 10 ms. The rusage figure is kept as a bound only: Linux starts
	// a child's maxrss at its parent's RSS when it vforks and execs, which
	// is how Go starts commands, so it never reads below the benchmark's.
	MaxRSS       float64 `json:"maxrss_mib"`
	RusageMaxRSS float64 `json:"rusage_maxrss_mib"`
	// LocalCPU and RemoteCPU are what the two Dovecot servers' per-session
	// processes (imap, reaped by the master) spent during the run: the
	// server side of the work, which doveadm backup mostly does in-process.
	LocalCPU  float64 `json:"local_dovecot_cpu_s"`
	RemoteCPU float64 `json:"remote_dovecot_cpu_s"`
	// SelfCPU is the benchmark's own, mostly the delay proxy's.
	SelfCPU float64 `json:"bench_proxy_cpu_s"`
	// OtherCPU is the machine's busy CPU time during the run that none of
	// the above explains: other work on the machine, a sign of disturbance.
	OtherCPU float64 `json:"other_cpu_s"`
}

// clockTick is USER_HZ, the unit of /proc's CPU times; 100 on every Linux
// architecture Debian ships.
const clockTick = 100

// server is a Dovecot master process, found by its -c argument. With live,
// its CPU counts the children still running too: LMTP processes serve one
// connection after another and outlive a run.
type server struct {
	pid  int
	live bool
}

func findServer(conf string) (server, error) {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmdline, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		if filepath.Base(args[0]) == "dovecot" && strings.Contains(string(cmdline), "\x00-c\x00"+conf) {
			pid, _ := strconv.Atoi(filepath.Base(d))
			return server{pid: pid}, nil
		}
	}
	return server{}, fmt.Errorf("no dovecot process runs with %s", conf)
}

// childCPU is the CPU time of the master's reaped children, in seconds.
func (s server) childCPU() float64 {
	f := statFields(s.pid)
	if len(f) < 17 {
		return 0
	}
	cu, _ := strconv.ParseFloat(f[15], 64)
	cs, _ := strconv.ParseFloat(f[16], 64)
	total := (cu + cs) / clockTick
	if s.live {
		total += s.liveCPU()
	}
	return total
}

// liveCPU is the CPU time of the master's running children, in seconds.
// A child reaped between two readings moves from here to the master's
// reaped total, so the difference of two childCPU readings stays right.
func (s server) liveCPU() float64 {
	var total float64
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		f := statFields(pid)
		if len(f) < 15 || f[3] != strconv.Itoa(s.pid) {
			continue
		}
		u, _ := strconv.ParseFloat(f[13], 64)
		st, _ := strconv.ParseFloat(f[14], 64)
		total += (u + st) / clockTick
	}
	return total
}

// statFields splits /proc/PID/stat; the command name may hold spaces, so
// the fields after it are counted from the closing parenthesis (field 3 is
// index 2).
func statFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return append([]string{strconv.Itoa(pid), "comm"}, strings.Fields(string(b[i+1:]))...)
}

// settle waits until the master has reaped its imap children, so that
// their CPU time is in childCPU: a session's process exits a moment after
// the client hangs up.
func (s server) settle() {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && s.sessions() > 0 {
		time.Sleep(20 * time.Millisecond)
	}
}

func (s server) sessions() int {
	n := 0
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		f := statFields(pid)
		comm, _ := os.ReadFile(filepath.Join(d, "comm"))
		if len(f) > 3 && f[3] == strconv.Itoa(s.pid) && strings.TrimSpace(string(comm)) == "imap" {
			n++
		}
	}
	return n
}

// busyCPU is the machine's total non-idle CPU time, in seconds.
func busyCPU() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var busy float64
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseFloat(f, 64)
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy / clockTick
}

// measure runs cmd to the end and times it. A tool that fails gives an
// error with the end of its output, and no sample.
func measure(cmd *exec.Cmd, local, remote server) (sample, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	l0, r0, s0, b0 := local.childCPU(), remote.childCPU(), selfCPU(), busyCPU()
	start := time.Now()
	err := cmd.Start()
	var peak float64
	if err == nil {
		stop := watchRSS(cmd.Process.Pid, &peak)
		err = cmd.Wait()
		stop()
	}
	wall := time.Since(start).Seconds()
	local.settle()
	remote.settle()
	if err != nil {
		return sample{}, fmt.Errorf("%s: %w: %s", filepath.Base(cmd.Path), err, tail(out.Bytes(), 2000))
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	s := sample{
		Wall:         wall,
		CPU:          tv(ru.Utime) + tv(ru.Stime),
		MaxRSS:       peak,
		RusageMaxRSS: float64(ru.Maxrss) / 1024, // KiB on Linux
		LocalCPU:     local.childCPU() - l0,
		RemoteCPU:    remote.childCPU() - r0,
		SelfCPU:      selfCPU() - s0,
	}
	s.OtherCPU = max(0, busyCPU()-b0-s.CPU-s.LocalCPU-s.RemoteCPU-s.SelfCPU)
	return s, nil
}

// selfCPU is this process's CPU time, in seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return tv(ru.Utime) + tv(ru.Stime)
}

// watchRSS samples the process's VmHWM (its own peak, which an exec
// resets) into peak until stop is called; stop returns once the sampler is
// done, so peak is then safe to read.
func watchRSS(pid int, peak *float64) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			if kib, err := strconv.ParseFloat(strings.TrimSuffix(procField(fmt.Sprintf("/proc/%d/status", pid), "VmHWM"), " kB"), 64); err == nil {
				*peak = max(*peak, kib/1024)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}

// waitQuiet waits, up to limit, until a second passes in which the machine
// does less than maxOther cores of work: other tests on a shared machine
// come in bursts, and a run started inside one measures the burst.
func waitQuiet(maxOther float64, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for {
		b0 := busyCPU()
		time.Sleep(time.Second)
		if busyCPU()-b0 < maxOther {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}
