//go:build bench

package bench

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailpull/mailpull/internal/rig"
)

// params are the benchmark's knobs, from the environment (make bench passes
// its own through).
type params struct {
	ns    []int         // BENCH_N: corpus sizes, e.g. 1000,10000
	rtt   time.Duration // BENCH_RTT: added round trip to the remote
	reps  int           // BENCH_REPS: interleaved repetitions per tool
	seed  uint64        // BENCH_SEED: the corpus's PRNG seed
	tools []tool        // BENCH_TOOLS: a subset, e.g. mailpull,mbsync
	out   string        // BENCH_OUT: where the JSON goes
	// BENCH_MAX_OTHER: cores of foreign work (other processes, the
	// kernel's) above which a run counts as disturbed and is done again.
	maxOther float64
	// BENCH_QUIET_WAIT: how long a run waits for the machine to calm down
	// before it starts anyway.
	quietWait time.Duration
	// BENCH_MODE: mirror, inbox, or both (mirror,inbox).
	mirror, inbox bool
	inboxN        []int       // BENCH_INBOX_N: INBOX corpus sizes
	inboxTools    []inboxTool // BENCH_INBOX_TOOLS: mailpull,fetchmail
	sockets       []string    // BENCH_INBOX_LMTP: unix,tcp
}

func readParams(t testing.TB) params {
	t.Helper()
	p := params{reps: 3, seed: 1, tools: tools, out: "results"}
	var err error
	for _, s := range strings.Split(getenv("BENCH_N", "1000"), ",") {
		n, perr := strconv.Atoi(strings.TrimSpace(s))
		if perr != nil || n < len(folders) {
			t.Fatalf("bench: BENCH_N: %q is not a count of at least %d", s, len(folders))
		}
		p.ns = append(p.ns, n)
	}
	if p.rtt, err = time.ParseDuration(getenv("BENCH_RTT", "0s")); err != nil {
		t.Fatalf("bench: BENCH_RTT: %v", err)
	}
	if p.reps, err = strconv.Atoi(getenv("BENCH_REPS", "3")); err != nil || p.reps < 1 {
		t.Fatalf("bench: BENCH_REPS: want a positive count")
	}
	if p.seed, err = strconv.ParseUint(getenv("BENCH_SEED", "1"), 10, 64); err != nil {
		t.Fatalf("bench: BENCH_SEED: %v", err)
	}
	p.tools = pickTools(t, getenv("BENCH_TOOLS", ""))
	p.out = getenv("BENCH_OUT", p.out)
	if p.maxOther, err = strconv.ParseFloat(getenv("BENCH_MAX_OTHER", "0.5"), 64); err != nil {
		t.Fatalf("bench: BENCH_MAX_OTHER: %v", err)
	}
	if p.quietWait, err = time.ParseDuration(getenv("BENCH_QUIET_WAIT", "30s")); err != nil {
		t.Fatalf("bench: BENCH_QUIET_WAIT: %v", err)
	}
	for _, m := range strings.Split(getenv("BENCH_MODE", "mirror"), ",") {
		switch strings.TrimSpace(m) {
		case "mirror":
			p.mirror = true
		case "inbox":
			p.inbox = true
		default:
			t.Fatalf("bench: BENCH_MODE: %q is neither mirror nor inbox", m)
		}
	}
	for _, s := range strings.Split(getenv("BENCH_INBOX_N", "1000"), ",") {
		n, perr := strconv.Atoi(strings.TrimSpace(s))
		if perr != nil || n < 1 {
			t.Fatalf("bench: BENCH_INBOX_N: %q is not a positive count", s)
		}
		p.inboxN = append(p.inboxN, n)
	}
	p.inboxTools = pickInboxTools(t, getenv("BENCH_INBOX_TOOLS", ""))
	for _, s := range strings.Split(getenv("BENCH_INBOX_LMTP", "unix,tcp"), ",") {
		if s = strings.TrimSpace(s); s != "unix" && s != "tcp" {
			t.Fatalf("bench: BENCH_INBOX_LMTP: %q is neither unix nor tcp", s)
		}
		p.sockets = append(p.sockets, s)
	}
	return p
}

func getenv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func pickTools(t testing.TB, list string) []tool {
	if list == "" {
		return tools
	}
	var out []tool
	for _, name := range strings.Split(list, ",") {
		i := len(out)
		for _, tl := range tools {
			if tl.name == strings.TrimSpace(name) {
				out = append(out, tl)
			}
		}
		if len(out) == i {
			t.Fatalf("bench: BENCH_TOOLS: unknown tool %q", name)
		}
	}
	return out
}

// TestBench runs the comparisons BENCH_MODE names. Mirror, for each corpus
// size: one filled remote, then for each repetition every tool in turn
// (A B C A B C …), each into a fresh local user: initial copy,
// verification, no-op re-run, verification. INBOX: see benchInbox.
func TestBench(t *testing.T) {
	p := readParams(t)
	bin := mailpullBinary(t)
	if p.mirror {
		for _, n := range p.ns {
			t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) { benchN(t, p, bin, n) })
		}
	}
	if p.inbox {
		for _, n := range p.inboxN {
			t.Run(fmt.Sprintf("inbox/N=%d", n), func(t *testing.T) { benchInbox(t, p, bin, n) })
		}
	}
}

func benchN(t *testing.T, p params, bin string, n int) {
	c := newCorpus(n, p.seed)
	remote := rig.StartRemote(t)
	files := locateRemote(t, remote)
	start := time.Now()
	fillMaildir(t, c, files.home)
	checkRemote(t, remote, c)
	t.Logf("corpus: %d messages, %.1f MB, written and verified in %.1fs", n, float64(c.totalBytes())/1e6, time.Since(start).Seconds())

	local := rig.StartLocal(t, rig.LocalOptions{})
	e := &env{remoteAddr: startDelay(t, remote.Addr, p.rtt), remote: remote, local: local, mailpull: bin, maxOther: p.maxOther, quietWait: p.quietWait}
	srv := servers{local: mustServer(t, local.ConfigFile), remote: mustServer(t, files.conf)}
	rep := newReport(e, p, c)
	for r := 1; r <= p.reps; r++ {
		for _, tl := range p.tools {
			rep.add(tl.name, runUndisturbed(t, e, srv, tl, r, c)...)
		}
	}
	// A tool that set \Seen or changed anything on the remote would skew
	// the runs after it.
	checkRemote(t, remote, c)
	rep.finish()
	rep.print(os.Stdout)
	t.Logf("results: %s", rep.save(t, p.out))
}

// checkRemote proves the fill: every message there, flags and dates as
// the corpus says, before any tool copies from it.
func checkRemote(t testing.TB, remote *rig.Remote, c *corpus) {
	t.Helper()
	client := remote.Dial(t)
	got, err := readAccount(client)
	if err != nil {
		t.Fatalf("bench: read the remote: %v", err)
	}
	_ = client.Logout().Wait()
	ck := compare(c.expected(), got)
	if ck.Err != nil || ck.String() != "ok" {
		t.Fatalf("bench: the remote does not hold the corpus: %s %v", ck, ck.Err)
	}
}

type servers struct{ local, remote server }

func mustServer(t testing.TB, conf string) server {
	t.Helper()
	s, err := findServer(conf)
	if err != nil {
		t.Fatalf("bench: %v", err)
	}
	return s
}

// retries is how often a disturbed run is done again before it counts
// anyway.
const retries = 1

// runUndisturbed runs a tool again while other work on the machine takes
// more than maxOther cores during its copy; the disturbed runs stay in the
// JSON but not in the medians.
func runUndisturbed(t *testing.T, e *env, srv servers, tl tool, rep int, c *corpus) []run {
	var runs []run
	for attempt := 0; ; attempt++ {
		res := runOnce(t, e, srv, tl, fmt.Sprintf("%s%d%c", tl.name, rep, 'a'+attempt), c)
		res.Rep = rep
		res.Disturbed = res.Copy != nil && res.Copy.OtherCPU/res.Copy.Wall > e.maxOther
		t.Logf("%s rep %d: %s", tl.name, rep, res)
		runs = append(runs, res)
		if !res.Disturbed || attempt == retries {
			if res.Disturbed {
				runs[len(runs)-1].Disturbed = false // the last try counts
			}
			return runs
		}
	}
}

// run is one repetition of one tool.
type run struct {
	Rep       int     `json:"rep"`
	Disturbed bool    `json:"disturbed,omitempty"` // redone; not in the medians
	Copy      *sample `json:"copy,omitempty"`
	Noop      *sample `json:"noop,omitempty"`
	Check     string  `json:"verified"`
	Err       string  `json:"error,omitempty"`
}

func (r run) String() string {
	if r.Err != "" {
		return "FAILED: " + r.Err
	}
	note := ""
	if r.Disturbed {
		note = "DISTURBED, again: "
	}
	return note + fmt.Sprintf("copy %.2fs cpu %.2fs rss %.1fMiB (dovecot local %.2fs remote %.2fs, other %.2fs); no-op %.2fs; %s",
		r.Copy.Wall, r.Copy.CPU, r.Copy.MaxRSS, r.Copy.LocalCPU, r.Copy.RemoteCPU, r.Copy.OtherCPU, r.Noop.Wall, r.Check)
}

// runOnce copies into a new local user (doveadm backup refuses an account
// that already has an INBOX), then re-runs the same command, verifying the
// account after each. The user's mail is removed afterwards.
func runOnce(t *testing.T, e *env, srv servers, tl tool, user string, c *corpus) run {
	e.local.AddUser(t, user, secret())
	// Dovecot re-reads a passwd-file at most once per second of its clock:
	// a lookup in the second of the change (the previous verification's)
	// would hide the new user from the tool.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	defer os.RemoveAll(e.local.Home(user))
	mk := tl.prepare(t, e, user, t.TempDir())
	var res run
	fail := func(stage string, err error) run {
		res.Copy, res.Noop, res.Err = nil, nil, stage+": "+err.Error()
		return res
	}
	cp, err := measureQuiet(t, e, mk(), srv)
	if err != nil {
		return fail("copy", err)
	}
	res.Copy = &cp
	if ck := verifyLocal(t, e, user, c); ck.Err != nil {
		return fail("verify the copy", ck.Err)
	}
	noop, err := measureQuiet(t, e, mk(), srv)
	if err != nil {
		return fail("re-run", err)
	}
	res.Noop = &noop
	ck := verifyLocal(t, e, user, c)
	if ck.Err != nil {
		return fail("verify after the re-run", ck.Err)
	}
	res.Check = ck.String()
	return res
}

// measureQuiet measures cmd once the machine is quiet, or after waiting
// long enough for it.
func measureQuiet(t testing.TB, e *env, cmd *exec.Cmd, srv servers) (sample, error) {
	if !waitQuiet(e.maxOther, e.quietWait) {
		t.Logf("the machine stayed busy for %s; measuring anyway", e.quietWait)
	}
	return measure(cmd, srv.local, srv.remote)
}

func verifyLocal(t testing.TB, e *env, user string, c *corpus) check {
	client := e.local.Dial(t, user)
	defer func() { _ = client.Logout().Wait() }()
	got, err := readAccount(client)
	if err != nil {
		return check{Err: fmt.Errorf("read the local account: %w", err)}
	}
	return compare(c.expected(), got)
}

// mailpullBinary is a private copy of MAILPULL_BIN (make bench builds it;
// a later make build must not swap it mid-run), or a fresh build.
func mailpullBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mailpull")
	if p := os.Getenv("MAILPULL_BIN"); p != "" {
		data, err := os.ReadFile(p)
		if err == nil {
			err = os.WriteFile(bin, data, 0o755)
		}
		if err != nil {
			t.Fatalf("bench: MAILPULL_BIN: %v", err)
		}
		return bin
	}
	out, err := exec.Command("go", "build", "-trimpath", "-o", bin, "github.com/mailpull/mailpull/cmd/mailpull").CombinedOutput()
	if err != nil {
		t.Fatalf("bench: build mailpull: %v\n%s", err, out)
	}
	return bin
}

// secret is a fresh password for a local user; it is never printed.
func secret() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
