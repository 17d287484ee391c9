package inbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/internal/rig"
	"github.com/mailpull/mailpull/sync/internal/hostile"
	"github.com/mailpull/mailpull/sync/remote"
)

// INBOX mode against a remote server that misbehaves, played by a proxy in
// front of the rig's remote Dovecot. After each hostile run, a run straight
// to the server must leave every remote message delivered exactly once,
// wherever it is filed.

// hostileWorld delivers the remote INBOX of n messages; its cfg goes
// through the proxy, clean does not.
func hostileWorld(t *testing.T, n int) (w *world, proxy *hostile.Proxy, clean Config) {
	t.Helper()
	w = newWorld(t, rig.LocalOptions{})
	for i := 1; i <= n; i++ {
		w.remote.Put(t, "INBOX", mail(fmt.Sprintf("hostile %d", i)))
	}
	proxy = hostile.Start(t, w.remote.Addr)
	clean = w.cfg
	w.cfg.Remote = func(context.Context) (*imapclient.Client, error) {
		c, err := imapclient.DialInsecure(proxy.Addr(), nil)
		if err != nil {
			return nil, err
		}
		if err := c.Login(w.remote.User, w.remote.Password).Wait(); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	return w, proxy, clean
}

// hostileRun runs through the proxy and checks the error's classes.
func (w *world) hostileRun(t *testing.T, want ...error) *Summary {
	t.Helper()
	sum, err := Run(context.Background(), w.cfg)
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

// exactlyOnce runs straight to the server, then checks that each of the n
// remote messages is in alice's account once.
func (w *world) exactlyOnce(t *testing.T, clean Config, n int) *Summary {
	t.Helper()
	sum, err := Run(context.Background(), clean)
	if err != nil {
		t.Fatalf("clean run: %v (%+v)", err, sum)
	}
	t.Logf("clean run: %+v", sum)
	uv := w.remoteUIDValidity(t)
	got := w.origins(t)
	for uid := 1; uid <= n; uid++ {
		if o := Origin(w.cfg.Task.ID, uv, uint32(uid)); got[o] != 1 {
			t.Errorf("%s delivered %d times", o, got[o])
		}
		delete(got, Origin(w.cfg.Task.ID, uv, uint32(uid)))
	}
	if len(got) != 0 {
		t.Errorf("unexpected local messages: %v", got)
	}
	w.whole(t)
	return sum
}

// whole fails unless every local message ends with the whole of a remote
// one: a delivery adds header fields in front, never cuts the body.
func (w *world) whole(t *testing.T) {
	t.Helper()
	var remote [][]byte
	for _, m := range w.remote.Read(t)["INBOX"] {
		remote = append(remote, m.Body)
	}
	for folder, msgs := range w.local.Read(t, "alice") {
		for _, m := range msgs {
			if !slices.ContainsFunc(remote, func(b []byte) bool { return bytes.HasSuffix(m.Body, b) }) {
				t.Errorf("%s: local message %q is not a whole remote message", folder, m.Body)
			}
		}
	}
}

func failedUIDs(sum *Summary) []uint32 {
	var out []uint32
	for _, f := range sum.Failed {
		out = append(out, f.UID)
	}
	slices.Sort(out)
	return out
}

// A server that sends UID after the body: every message is delivered once.
func TestHostileServerInboxUIDAfterBody(t *testing.T) {
	w, proxy, clean := hostileWorld(t, 5)
	proxy.SetRule(func(_ string, resp []byte) hostile.Action { return hostile.Forward(hostile.UIDLast(resp)) })
	if sum := w.hostileRun(t); sum.Delivered != 5 {
		t.Fatalf("delivered %d, want 5", sum.Delivered)
	}
	if sum := w.exactlyOnce(t, clean, 5); sum.Delivered != 0 {
		t.Fatalf("the clean run delivered %d more", sum.Delivered)
	}
}

// A server that leaves messages out of its FETCH answers, in the metadata
// pass or in the body pass: they are reported (exit 1), not recorded as
// delivered, and the next run delivers them.
func TestHostileServerInboxOmitsMessages(t *testing.T) {
	for _, pass := range []struct {
		name  string
		whole bool
	}{{"metadata", false}, {"bodies", true}} {
		t.Run(pass.name, func(t *testing.T) {
			w, proxy, clean := hostileWorld(t, 5)
			proxy.SetRule(func(_ string, resp []byte) hostile.Action {
				if f, ok := hostile.ParseFetch(resp); ok && f.Literal >= 0 && f.Body == pass.whole && (f.UID == 2 || f.UID == 4) {
					return hostile.Action{}
				}
				return hostile.Forward(resp)
			})
			sum := w.hostileRun(t, ErrPartial)
			if got := failedUIDs(sum); !slices.Equal(got, []uint32{2, 4}) || sum.Delivered != 3 {
				t.Fatalf("failed %v, delivered %d; want [2 4] and 3", got, sum.Delivered)
			}
			if sum := w.exactlyOnce(t, clean, 5); sum.Delivered != 2 {
				t.Fatalf("the clean run delivered %d, want the 2 left out", sum.Delivered)
			}
		})
	}
}

// A reply that never ends, mid-body or before its tagged end: the stall
// watchdog closes the connection and the run ends as a timeout (exit 75);
// the next run delivers the rest, none twice.
func TestHostileServerInboxStalls(t *testing.T) {
	for _, mid := range []bool{true, false} {
		t.Run(map[bool]string{true: "mid-literal", false: "before-the-end"}[mid], func(t *testing.T) {
			w, proxy, clean := hostileWorld(t, 6)
			var held bool
			var mu sync.Mutex
			proxy.SetRule(func(_ string, resp []byte) hostile.Action {
				mu.Lock()
				defer mu.Unlock()
				f, ok := hostile.ParseFetch(resp)
				switch {
				case held:
					return hostile.Action{Then: hostile.Stall}
				case ok && f.Body && f.UID == 3 && mid:
					held = true
					return hostile.Action{Send: resp[:f.Literal+10], Then: hostile.Stall}
				case ok && f.Body && f.UID == 3:
					held = true
				}
				return hostile.Forward(resp)
			})
			w.cfg.Stall = 500 * time.Millisecond // configuration: the rule stalls for good
			w.hostileRun(t, remote.ErrTimeout)
			w.exactlyOnce(t, clean, 6)
		})
	}
}

// The connection is cut once in the middle of a body, delivered through
// LMTP or appended (Sieve off): the run reconnects, asks for that message
// again and delivers all, nothing truncated, none twice. (A message that
// cuts the connection every time fails alone: the hostile-message tests.)
func TestHostileServerInboxCutMidLiteral(t *testing.T) {
	for _, lmtp := range []bool{true, false} {
		t.Run(map[bool]string{true: "lmtp", false: "append"}[lmtp], func(t *testing.T) {
			w, proxy, clean := hostileWorld(t, 6)
			if !lmtp {
				w.cfg.LMTP, w.cfg.Task.Sieve = nil, false
				clean.LMTP, clean.Task.Sieve = nil, false
			}
			var once sync.Once
			proxy.SetRule(func(_ string, resp []byte) hostile.Action {
				a := hostile.Forward(resp)
				if f, ok := hostile.ParseFetch(resp); ok && f.Body && f.UID == 4 {
					once.Do(func() { a = hostile.Action{Send: resp[:f.Literal+20], Then: hostile.Cut} })
				}
				return a
			})
			sum := w.hostileRun(t)
			if len(sum.Failed) != 0 || sum.Delivered != 6 {
				t.Errorf("delivered %d, failed %v; want all 6 after a reconnection", sum.Delivered, sum.Failed)
			}
			w.exactlyOnce(t, clean, 6)
		})
	}
}
