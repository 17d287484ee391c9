package folders

import (
	"net"
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// specialUse adds RFC 6154 attributes to the LIST replies of go-imap's
// in-memory server, whose beta.8 User.Create drops CreateOptions.SpecialUse.
type specialUse struct {
	imapserver.Session
	use map[string][]imap.MailboxAttr
}

func (s specialUse) List(w *imapserver.ListWriter, ref string, patterns []string, o *imap.ListOptions) error {
	for name, use := range s.use {
		data := &imap.ListData{Mailbox: name, Delim: '/'}
		if o.ReturnSpecialUse {
			data.Attrs = use
		}
		for _, p := range patterns {
			if imapserver.MatchList(name, '/', ref, p) {
				if err := w.WriteList(data); err != nil {
					return err
				}
				break
			}
		}
	}
	return nil
}

// memServer serves one user with the given folders from go-imap's
// in-memory server and returns a logged-in client.
func memServer(t *testing.T, folders map[string][]imap.MailboxAttr) *imapclient.Client {
	t.Helper()
	u := imapmemserver.NewUser("remote", "pw")
	for name := range folders {
		if err := u.Create(name, nil); err != nil {
			t.Fatal(err)
		}
	}
	mem := imapmemserver.New()
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return specialUse{mem.NewSession(), folders}, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapSpecialUse: {}, imap.CapListExtended: {}},
		InsecureAuth: true,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return login(t, ln.Addr().String(), false)
}

func login(t *testing.T, addr string, guard bool) *imapclient.Client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if guard {
		conn = Guard(conn)
	}
	c := imapclient.New(conn, nil)
	t.Cleanup(func() { c.Close() })
	if err := c.Login("remote", "pw").Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestListSpecialUse(t *testing.T) {
	c := memServer(t, map[string][]imap.MailboxAttr{
		"INBOX": nil, "Sent": {imap.MailboxAttrSent}, "Spam": {imap.MailboxAttrJunk},
		"Entwürfe": {imap.MailboxAttrDrafts}, "Work/2024": nil,
	})
	l, err := List(c)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Remote{}
	for _, r := range l.Folders {
		got[r.Name] = r
	}
	for name, attr := range map[string]imap.MailboxAttr{
		"Sent": imap.MailboxAttrSent, "Spam": imap.MailboxAttrJunk, "Entwürfe": imap.MailboxAttrDrafts,
	} {
		if !got[name].Has(attr) {
			t.Errorf("%q: attrs %q, want %s", name, got[name].Attrs, attr)
		}
	}
	if r := got["Work/2024"]; r.Delim != '/' {
		t.Errorf("Work/2024: delim %q", r.Delim)
	}
	p := Map(l, '.', opts("imap"))
	if want := []string{"Drafts", "Sent", "Work", "Work.2024"}; !slices.Equal(p.Create, want) {
		t.Errorf("create %q, want %q", p.Create, want)
	}
}

// badNames are names go-imap v2.0.0-beta.8 cannot decode; each used to
// close the connection (checked by TestListWithoutGuard).
var badNames = []string{
	`* LIST (\HasNoChildren) "/" "Tom & Jerry"`,
	`* LIST (\HasNoChildren) "/" "&BBAEMQQyACYEMwQ0BDU-"`, // non-canonical (Yandex)
	"* LIST () \"/\" \"Caf\xe9\"",                         // Latin-1
	"* LIST () \"/\" {5}\r\nA&B C",                        // bad literal
	"* LIST () \"/\" Caf\xc4\x80",                         // UTF-8 atom with a 0x80 byte
}

func scriptedList() scripted {
	list := []string{`* LIST (\HasChildren) "/" INBOX`, `* LIST (\Sent) "/" "Sent"`}
	list = append(list, badNames...)
	list = append(list,
		`* LIST () "/" "Entw&APw-rfe"`, "* LIST () \"/\" {8}\r\nLit/eral",
		`* LIST (\HasNoChildren) "/" "After"`, "* LIST () NIL \"Caf\xc3\xa9\"")
	return scripted{caps: "IMAP4rev1 SPECIAL-USE LIST-EXTENDED NAMESPACE", list: list,
		ns: `(("" "/")) NIL (("Shared/" "/"))`}
}

func TestListWithoutGuard(t *testing.T) {
	c := login(t, scriptedList().start(t), false)
	if _, err := List(c); err == nil {
		t.Fatal("go-imap decoded every name; Guard may be unneeded now")
	}
	<-c.Closed()
}

func TestListGuard(t *testing.T) {
	c := login(t, scriptedList().start(t), true)
	l, err := List(c)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range l.Folders {
		names = append(names, r.Name)
	}
	want := []string{"INBOX", "Sent", "Entwürfe", "Lit/eral", "After", "Café"}
	if !slices.Equal(names, want) {
		t.Errorf("folders %q, want %q", names, want)
	}
	wantBad := []string{"Tom & Jerry", "&BBAEMQQyACYEMwQ0BDU-", "Caf\xe9", "A&B C", "Caf\xc4\x80"}
	if !slices.Equal(l.Undecodable, wantBad) {
		t.Errorf("undecodable %q, want %q", l.Undecodable, wantBad)
	}
	if !slices.Equal(l.Shared, []string{"Shared/"}) {
		t.Errorf("shared %q", l.Shared)
	}
	if err := c.Noop().Wait(); err != nil {
		t.Errorf("connection after LIST: %v", err)
	}
}

// go-imap misreads a server's ID list: its decoder keeps an error that
// surfaces when the connection ends, as Close's error. The guard hands it "* ID NIL" instead.
func TestIDReply(t *testing.T) {
	for _, guarded := range []bool{false, true} {
		c := login(t, scriptedList().start(t), guarded)
		if _, err := c.ID(&imap.IDData{Name: "mailpull"}).Wait(); err != nil {
			t.Fatalf("guarded %v: ID: %v", guarded, err)
		}
		if err := c.Noop().Wait(); err != nil {
			t.Errorf("guarded %v: NOOP after ID: %v", guarded, err)
		}
		err := c.Close()
		if guarded && err != nil {
			t.Errorf("guarded: close after ID: %v", err)
		}
		if !guarded && err == nil {
			t.Errorf("unguarded: close after ID is clean; the ID rewrite may be unneeded now")
		}
	}
}
