package mirror

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/mailpull/mailpull/internal/rig"
	"github.com/mailpull/mailpull/sync/ledger"
	"github.com/mailpull/mailpull/task"
)

// providerLayouts are remote accounts as the providers name their folders;
// every folder holds one message.
var providerLayouts = map[string][]string{
	"gmail": {"INBOX", "[Gmail]/Sent Mail", "[Gmail]/Drafts", "[Gmail]/Spam", "[Gmail]/Trash", "[Gmail]/All Mail",
		"[Gmail]/Important", "[Gmail]/Starred", "Work/Deep", "Newsletters"},
	"googlemail": {"INBOX", "[Google Mail]/Sent Mail", "[Google Mail]/Bin", "[Google Mail]/Spam",
		"[Google Mail]/All Mail", "[Google Mail]/Starred"},
	"outlook": {"INBOX", "Sent Items", "Deleted Items", "Junk Email", "Archive", "Drafts", "Projects/2026"},
	"yahoo":   {"INBOX", "Sent", "Draft", "Trash", "Bulk Mail", "Archive"},
}

// Every preset and switch on a real Dovecot playing the provider: which
// local folders the account ends up with. Each case runs into a fresh local
// user with its own ledger.
func TestPresetsAndSwitchesOnDovecot(t *testing.T) {
	remotes := map[string]*rig.Remote{}
	for name, layout := range providerLayouts {
		r := rig.StartRemoteWith(t, rig.RemoteOptions{Separator: "/"})
		for i, f := range layout {
			r.Put(t, f, mail(i+1, time.Date(2022, 2, 1+i, 0, 0, 0, 0, time.UTC)))
		}
		remotes[name] = r
	}
	local := rig.StartLocal(t, rig.LocalOptions{})
	cases := []struct {
		layout, provider string
		edit             func(*task.Task)
		want             []string
	}{
		// gmail: roles from the preset, views skipped or kept by switch
		{"gmail", "gmail", nil, []string{"Archive", "Drafts", "INBOX", "Important", "Newsletters", "Sent", "Trash", "Work", "Work/Deep"}},
		{"gmail", "gmail", func(t *task.Task) { t.Junk = true }, []string{"Archive", "Drafts", "INBOX", "Important", "Junk", "Newsletters", "Sent", "Trash", "Work", "Work/Deep"}},
		{"gmail", "gmail", func(t *task.Task) { t.Trash, t.Important, t.Archives = false, false, false }, []string{"Drafts", "INBOX", "Newsletters", "Sent", "Work", "Work/Deep"}},
		{"googlemail", "gmail", nil, []string{"Archive", "INBOX", "Sent", "Trash"}},
		// all-except: the expressions match remote names
		{"gmail", "gmail", func(t *task.Task) { t.Folders, t.Exclude = task.FoldersAllExcept, []string{`^Work`, `^News`} }, []string{"Archive", "Drafts", "INBOX", "Important", "Sent", "Trash"}},
		// outlook and yahoo names
		{"outlook", "outlook", nil, []string{"Archive", "Drafts", "INBOX", "Projects", "Projects/2026", "Sent", "Trash"}},
		{"yahoo", "yahoo", func(t *task.Task) { t.Junk = true }, []string{"Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"}},
		// inbox mode copies INBOX alone
		{"yahoo", "imap", func(t *task.Task) { t.Folders = task.FoldersInbox }, []string{"INBOX"}},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d-%s", i, c.layout), func(t *testing.T) {
			user := fmt.Sprintf("preset%d", i)
			local.AddUser(t, user, "pw")
			cfg := presetRun(t, remotes[c.layout], local, user)
			cfg.Task.Provider = c.provider
			if c.edit != nil {
				c.edit(&cfg.Task)
			}
			if _, err := Run(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			got := userFolders(t, local, user)
			if !slices.Equal(got, c.want) {
				t.Errorf("local folders %q, want %q", got, c.want)
			}
		})
	}
}

func presetRun(t *testing.T, r *rig.Remote, l *rig.Local, user string) Config {
	lg, err := ledger.Open(filepath.Join(t.TempDir(), "l.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lg.Close() })
	tk := task.New()
	tk.ID, tk.LocalUser, tk.Host, tk.RemoteUser = "preset", user, "127.0.0.1", r.User
	return Config{Task: tk, Ledger: lg,
		Remote: func(context.Context) (*imapclient.Client, error) {
			c, err := imapclient.DialInsecure(r.Addr, nil)
			if err == nil {
				err = c.Login(r.User, r.Password).Wait()
			}
			return c, err
		},
		Local: func(context.Context) (*imapclient.Client, error) {
			c, err := imapclient.DialInsecure(l.IMAPAddr, nil)
			if err == nil {
				err = c.Authenticate(sasl.NewPlainClient(user, l.MasterUser, l.MasterPassword))
			}
			return c, err
		}}
}

// userFolders lists a user's folders, with at least one message each
// except the parents mailpull created, sorted.
func userFolders(t *testing.T, l *rig.Local, user string) []string {
	var out []string
	for name := range l.Read(t, user) {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}
