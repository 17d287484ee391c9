package mirror

import (
	"bytes"
	"context"
	"errors"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/mailpull/mailpull/internal/rig"
	"github.com/mailpull/mailpull/sync/internal/hostile"
	"github.com/mailpull/mailpull/sync/remote"
)

// A remote server that misbehaves is played by a proxy in front of the
// rig's remote Dovecot, which keeps the state honest. After each hostile
// run a run straight to the servers must leave the local account equal to
// the remote one, every message once.

// hostileWorld is a rigWorld whose runs may go through a proxy.
type hostileWorld struct {
	*rigWorld
	proxy *hostile.Proxy // in front of the remote
}

func newHostileWorld(t *testing.T) *hostileWorld {
	w := &hostileWorld{rigWorld: newRigWorld(t, rig.RemoteOptions{})}
	w.proxy = hostile.Start(t, w.remote.Addr)
	return w
}

// hostileConfig is a run whose remote connections go through the proxy.
func (w *hostileWorld) hostileConfig() Config {
	cfg := w.config()
	host, port, _ := net.SplitHostPort(w.proxy.Addr())
	rcfg := remote.Config{Host: host, Security: remote.None, User: w.remote.User, Password: w.remote.Password,
		LoginTimeout: 2 * time.Second} // configuration: a stalled server stalls its greeting too
	rcfg.Port, _ = strconv.Atoi(port)
	cfg.Remote = func(ctx context.Context) (*imapclient.Client, error) { return remote.Dial(ctx, rcfg) }
	return cfg
}

func loginThrough(addr string, login func(*imapclient.Client) error) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return nil, err
	}
	if err := login(c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// hostileRun runs cfg and fails the test unless the error is of each of
// the classes want (none: no error).
func hostileRun(t *testing.T, cfg Config, want ...error) *Summary {
	t.Helper()
	sum, err := Run(context.Background(), cfg)
	if len(want) == 0 && err != nil {
		t.Fatalf("hostile run: %v (%+v)", err, sum)
	}
	for _, class := range want {
		if !errors.Is(err, class) {
			t.Fatalf("hostile run: error %v, want one of class %v (%+v)", err, class, sum)
		}
	}
	t.Logf("hostile run: %v; %+v", err, sum)
	return sum
}

// settled runs straight to the servers and checks that the local account
// equals the remote one: in the same order when ordered, else as sets
// (a message the server held back is copied after the later ones).
func (w *hostileWorld) settled(t *testing.T, ordered bool) *Summary {
	t.Helper()
	sum := w.run(t, w.config())
	t.Logf("clean run: %+v", sum)
	remote, local := w.remote.Read(t), w.local.Read(t, "alice")
	for name, msgs := range remote {
		got := local[w.localName(name)]
		if !ordered {
			msgs, got = byBody(msgs), byBody(got)
		}
		if !rig.EqualMessages(msgs, got) {
			t.Errorf("folder %q after a clean run: remote %s\nlocal  %s", name, describe(msgs), describe(got))
		}
	}
	return sum
}

func byBody(msgs []rig.Message) []rig.Message {
	out := slices.Clone(msgs)
	slices.SortFunc(out, func(a, b rig.Message) int { return bytes.Compare(a.Body, b.Body) })
	return out
}

// failedUIDs lists the UIDs of the summary's failures.
func failedUIDs(sum *Summary) []uint32 {
	var out []uint32
	for _, f := range sum.Failed {
		out = append(out, f.UID)
	}
	slices.Sort(out)
	return out
}

// A server that sends UID after the body in every FETCH answer (legal, but
// go-imap cannot place such an answer): the run copies everything, in
// order, with no error.
func TestHostileServerUIDAfterBody(t *testing.T) {
	w := newHostileWorld(t)
	w.remote.Put(t, "INBOX", mails(1, 4)...)
	w.remote.Put(t, "Work", mails(5, 13)...)
	w.proxy.SetRule(func(_ string, resp []byte) hostile.Action {
		return hostile.Forward(hostile.UIDLast(resp))
	})
	if sum := hostileRun(t, w.hostileConfig()); sum.Copied != 13 {
		t.Fatalf("copied %d, want 13", sum.Copied)
	}
	w.same(t)
	if sum := w.settled(t, true); sum.Copied != 0 {
		t.Fatalf("the clean run copied %d more", sum.Copied)
	}
}

// omitRule drops the FETCH answers of the given UIDs that carry a body
// (whole=true) or a header section (whole=false).
func omitRule(whole bool, uids ...uint32) hostile.Rule {
	return func(_ string, resp []byte) hostile.Action {
		if f, ok := hostile.ParseFetch(resp); ok && f.Literal >= 0 && f.Body == whole && slices.Contains(uids, f.UID) {
			return hostile.Action{}
		}
		return hostile.Forward(resp)
	}
}

// A server that leaves some requested messages out of its FETCH answers,
// in the metadata pass or in the body pass, every time it is asked: the
// run reports them as failed (exit 1) and does not record them as copied,
// and the next run copies them.
func TestHostileServerOmitsMessages(t *testing.T) {
	for _, pass := range []struct {
		name  string
		whole bool
	}{{"metadata", false}, {"bodies", true}} {
		t.Run(pass.name, func(t *testing.T) {
			w := newHostileWorld(t)
			w.remote.Put(t, "INBOX", mails(1, 5)...)
			w.proxy.SetRule(omitRule(pass.whole, 2, 4))
			sum := hostileRun(t, w.hostileConfig(), ErrPartial)
			if got := failedUIDs(sum); !slices.Equal(got, []uint32{2, 4}) || sum.Copied != 3 {
				t.Fatalf("failed UIDs %v, copied %d; want [2 4] and 3", got, sum.Copied)
			}
			if n := len(w.local.Read(t, "alice")["INBOX"]); n != 3 {
				t.Fatalf("local INBOX has %d messages, want 3", n)
			}
			if sum := w.settled(t, false); sum.Copied != 2 {
				t.Fatalf("the clean run copied %d, want the 2 left out", sum.Copied)
			}
		})
	}
}

// tagOf is the tag of a command line.
func tagOf(cmd string) string { t, _, _ := strings.Cut(cmd, " "); return t }

// A message is expunged on the remote between the metadata pass and the
// body pass: Dovecot announces the EXPUNGE inside the UID FETCH of the
// bodies and leaves the message out. The message is gone, so nothing
// failed: the run ends without error, and nothing of the gone message is
// local.
func TestHostileServerExpungeDuringFetch(t *testing.T) {
	w := newHostileWorld(t)
	w.remote.Put(t, "INBOX", mails(1, 5)...)
	var once sync.Once
	var mu sync.Mutex
	var sawExpunge bool
	expunge := regexp.MustCompile(`^\* \d+ EXPUNGE\r\n$`)
	w.proxy.SetRule(func(cmd string, resp []byte) hostile.Action {
		meta := strings.Contains(cmd, "UID FETCH") && strings.Contains(strings.ToUpper(cmd), "HEADER.FIELDS")
		if meta && bytes.HasPrefix(resp, []byte(tagOf(cmd)+" OK")) {
			once.Do(func() { w.expungeRemote(t, "INBOX", "m3") })
		}
		if strings.Contains(cmd, "BODY.PEEK[]") && expunge.Match(resp) {
			mu.Lock()
			sawExpunge = true
			mu.Unlock()
		}
		return hostile.Forward(resp)
	})
	sum := hostileRun(t, w.hostileConfig())
	if !sawExpunge {
		t.Fatal("the server sent no EXPUNGE during the body FETCH: the case was not played")
	}
	if sum.Copied != 4 {
		t.Fatalf("copied %d, want the 4 left", sum.Copied)
	}
	w.same(t)
	if sum := w.settled(t, true); sum.Copied != 0 {
		t.Fatalf("the clean run copied %d more", sum.Copied)
	}
}

// stallRule forwards until the body FETCH answer of UID at, then sends
// part of it, or all of the untagged answers but not the tagged end, and
// stops talking.
func stallRule(at uint32, midLiteral bool) hostile.Rule {
	var held bool
	var mu sync.Mutex
	return func(cmd string, resp []byte) hostile.Action {
		mu.Lock()
		defer mu.Unlock()
		f, ok := hostile.ParseFetch(resp)
		switch {
		case held:
			return hostile.Action{Then: hostile.Stall}
		case ok && f.Body && f.UID == at && midLiteral:
			held = true
			return hostile.Action{Send: resp[:f.Literal+10], Then: hostile.Stall}
		case ok && f.Body && f.UID == at:
			held = true // the next response, the tagged OK, never comes
		}
		return hostile.Forward(resp)
	}
}

// A reply that never ends, in the middle of a body or before the tagged
// answer (where go-imap waits without a deadline): the stall watchdog
// closes the connections, the run ends as a timeout (exit 75), and the
// next run settles the batch and copies the rest, in order.
func TestHostileServerStalls(t *testing.T) {
	for _, mid := range []bool{true, false} {
		name := map[bool]string{true: "mid-literal", false: "before-the-end"}[mid]
		t.Run(name, func(t *testing.T) {
			w := newHostileWorld(t)
			w.remote.Put(t, "INBOX", mails(1, 9)...)
			w.proxy.SetRule(stallRule(4, mid))
			cfg := w.hostileConfig()
			cfg.Stall = 500 * time.Millisecond // configuration: the rule stalls for good
			hostileRun(t, cfg, remote.ErrTimeout, ErrInterrupted)
			w.settled(t, true)
		})
	}
}

// The connection is cut once in the middle of a body literal: the run
// reconnects, settles the batch, asks for that message again (the link, not
// the message, may be at fault) and copies everything, in order. A message
// that cuts the connection every time is TestHostileMessagesOnDovecot's.
func TestHostileServerCutMidLiteral(t *testing.T) {
	w := newHostileWorld(t)
	w.remote.Put(t, "INBOX", mails(1, 9)...)
	var once sync.Once
	w.proxy.SetRule(func(_ string, resp []byte) hostile.Action {
		a := hostile.Forward(resp)
		if f, ok := hostile.ParseFetch(resp); ok && f.Body && f.UID == 5 {
			once.Do(func() { a = hostile.Action{Send: resp[:f.Literal+20], Then: hostile.Cut} })
		}
		return a
	})
	sum, err := Run(context.Background(), w.hostileConfig())
	t.Logf("hostile run: %v; %+v", err, sum)
	if err != nil || sum.Copied != 9 {
		t.Fatalf("hostile run: %v (%+v), want all 9 copied after a reconnection", err, sum)
	}
	w.settled(t, false)
	if n := len(w.local.Read(t, "alice")["INBOX"]); n != 9 {
		t.Fatalf("local INBOX has %d messages, want 9", n)
	}
}

// The local server answers APPEND without APPENDUID (no UIDPLUS, as far as
// mailpull can tell): the copies are made once, and a re-run, with or
// without APPENDUID, copies nothing again. (The ledger then does not know
// the local UIDs, so flag changes do not follow those copies: see the
// report of the hardening issue.)
func TestHostileServerLocalWithoutAPPENDUID(t *testing.T) {
	w := newHostileWorld(t)
	w.remote.Put(t, "INBOX", mails(1, 9)...)
	local := hostile.Start(t, w.local.IMAPAddr)
	appendUID := regexp.MustCompile(`\[APPENDUID \d+ \d+\] ?`)
	local.SetRule(func(_ string, resp []byte) hostile.Action {
		return hostile.Forward(appendUID.ReplaceAll(resp, nil))
	})
	cfg := w.config()
	cfg.Local = func(context.Context) (*imapclient.Client, error) {
		return loginThrough(local.Addr(), func(c *imapclient.Client) error {
			return c.Authenticate(sasl.NewPlainClient("alice", w.local.MasterUser, w.local.MasterPassword))
		})
	}
	if sum := hostileRun(t, cfg); sum.Copied != 9 {
		t.Fatalf("copied %d, want 9", sum.Copied)
	}
	w.same(t)
	w.remote.Put(t, "INBOX", mails(10, 11)...)
	if sum := hostileRun(t, cfg); sum.Copied != 2 || sum.Adopted != 0 {
		t.Fatalf("re-run without APPENDUID: %+v", sum)
	}
	if sum := w.settled(t, true); sum.Copied != 0 {
		t.Fatalf("clean run: %+v", sum)
	}
}
