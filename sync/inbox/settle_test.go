package inbox

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/mailpull/mailpull/internal/rig"
)

// A run that died after delivering and before recording it left an open
// intent. The next run finds the copies by their origin, in whatever folder
// they are now, and delivers only what is missing: nothing twice.
func TestInterruptedDeliveryIsSettledWithoutDuplicates(t *testing.T) {
	t.Parallel()
	w := newWorld(t, rig.LocalOptions{})
	w.remote.Put(t, "INBOX", mail("one"), mail("two"), mail("three"))

	// The dead run: its intent, then two of its three deliveries, through
	// the same code; the user has already filed one of them.
	r := &run{cfg: w.cfg, sum: &Summary{}}
	r.cfg.defaults()
	if err := r.session(context.Background()); err != nil {
		t.Fatal(err)
	}
	metas, err := fetchMeta(r.remote, []imap.UID{1, 2, 3})
	if err != nil || len(metas) != 3 {
		t.Fatalf("meta: %v %v", metas, err)
	}
	if _, err := w.cfg.Ledger.Begin(r.intent(metas)); err != nil {
		t.Fatal(err)
	}
	remote := w.remote.Read(t)["INBOX"]
	out, err := r.deliverer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range metas[:2] {
		if err := out.deliver(m, r.head(m.uid), bytes.NewReader(remote[i].Body), int64(len(remote[i].Body))); err != nil {
			t.Fatal(err)
		}
	}
	r.close()
	lc := w.local.Dial(t, "alice")
	lc.Create("Archive", nil).Wait()
	lc.Select("INBOX", nil).Wait()
	if _, err := lc.Move(imap.UIDSetNum(2), "Archive").Wait(); err != nil {
		t.Fatal(err)
	}

	sum := w.run(t, nil)
	if sum.Recovered != 2 || sum.Delivered != 1 || sum.SeenSet != 3 {
		t.Fatalf("summary %+v: want 2 recovered, 1 delivered, 3 marked seen", sum)
	}
	origins := w.origins(t)
	uv := w.remoteUIDValidity(t)
	for uid := uint32(1); uid <= 3; uid++ {
		if n := origins[Origin("t1inbx", uv, uid)]; n != 1 {
			t.Errorf("UID %d: %d local copies, want 1 (all: %v)", uid, n, origins)
		}
	}
	if got := fmt.Sprint(w.subjects(t)); got != "map[Archive:[two] INBOX:[one three]]" {
		t.Errorf("local mail %s", got)
	}
	if open, _ := w.cfg.Ledger.OpenIntents(); len(open) != 0 {
		t.Errorf("intents still open: %v", open)
	}
}
