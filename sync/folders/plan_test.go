package folders

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/mailpull/mailpull/task"
)

func rem(name string, delim rune, attrs ...imap.MailboxAttr) Remote {
	return Remote{Name: name, Delim: delim, Attrs: attrs}
}

func opts(provider string) Options {
	return Options{Mode: task.FoldersAll, Provider: provider, Trash: true, Important: true, Archives: true}
}

const (
	noselect = imap.MailboxAttrNoSelect
	sent     = imap.MailboxAttrSent
	junk     = imap.MailboxAttrJunk
	all      = imap.MailboxAttrAll
	flagged  = imap.MailboxAttrFlagged
)

var (
	gmail = []Remote{
		rem("INBOX", '/'), rem("[Gmail]", '/', noselect),
		rem("[Gmail]/All Mail", '/', all), rem("[Gmail]/Drafts", '/', imap.MailboxAttrDrafts),
		rem("[Gmail]/Important", '/', imap.MailboxAttrImportant), rem("[Gmail]/Sent Mail", '/', sent),
		rem("[Gmail]/Spam", '/', junk), rem("[Gmail]/Starred", '/', flagged),
		rem("[Gmail]/Bin", '/', imap.MailboxAttrTrash), rem("[Gmail]/Chat", '/'),
		rem("Work/Projects", '/'),
	}
	// googleMail is Gmail in its German spelling, without attributes, so the
	// preset alone must recognise the folders.
	googleMail = []Remote{
		rem("INBOX", '/'), rem("[Google Mail]", '/', noselect),
		rem("[Google Mail]/All Mail", '/'), rem("[Google Mail]/Sent Mail", '/'),
		rem("[Google Mail]/Trash", '/'), rem("[Google Mail]/Spam", '/'),
		rem("[Google Mail]/Starred", '/'), rem("[Google Mail]/Chat", '/'),
		rem("[Google Mail]/Important", '/'),
	}
)

func TestMap(t *testing.T) {
	tests := []struct {
		name    string
		l       Listing
		sep     rune
		o       func(*Options)
		want    map[string]string // remote → local of the copied folders
		skipped []string
	}{
		// hierarchy
		{name: "slash to dot", sep: '.',
			l:    Listing{Folders: []Remote{rem("INBOX", '/'), rem("A/B/C", '/'), rem("A", '/', noselect)}},
			want: map[string]string{"INBOX": "INBOX", "A/B/C": "A.B.C"}, skipped: []string{"A"}},
		{name: "dot to slash", sep: '/',
			l:    Listing{Folders: []Remote{rem("INBOX", '.'), rem("A.B", '.'), rem("A", '.')}},
			want: map[string]string{"INBOX": "INBOX", "A.B": "A/B", "A": "A"}},
		{name: "flat server", sep: '/',
			l:    Listing{Folders: []Remote{rem("a/b", 0), rem("x.y", 0)}},
			want: map[string]string{"a/b": "a∕b", "x.y": "x.y"}},
		{name: "children of INBOX stay children on Dovecot", sep: '.',
			l:    Listing{Folders: []Remote{rem("INBOX", '/'), rem("INBOX/Sub", '/'), rem("inbox/Other", '/')}},
			want: map[string]string{"INBOX": "INBOX", "INBOX/Sub": "INBOX.Sub", "inbox/Other": "INBOX.Other"}},
		{name: "Courier INBOX. prefix from NAMESPACE", sep: '/',
			l: Listing{Prefix: "INBOX.", Folders: []Remote{rem("INBOX", '.'), rem("INBOX.Sent", '.'),
				rem("INBOX.a.b", '.'), rem("user.bob", '.')}},
			want:    map[string]string{"INBOX": "INBOX", "INBOX.Sent": "Sent", "INBOX.a.b": "a/b"},
			skipped: []string{"user.bob"}},
		{name: "shared namespace", sep: '/',
			l:    Listing{Shared: []string{"Shared/"}, Folders: []Remote{rem("Shared/bob/INBOX", '/'), rem("Mine", '/')}},
			want: map[string]string{"Mine": "Mine"}, skipped: []string{"Shared/bob/INBOX"}},

		// separators and odd components
		{name: "local separator inside a component", sep: '.',
			l:    Listing{Folders: []Remote{rem("v1.2/notes", '/'), rem("a/..", '/'), rem("a/.", '/'), rem("a", '/')}},
			want: map[string]string{"v1.2/notes": "v1․2.notes", "a/..": "a.․․", "a/.": "a.․", "a": "a"}},
		{name: "spaces, empty components, controls", sep: '/',
			l: Listing{Folders: []Remote{rem(" Pad ", '/'), rem("x//y/", '/'), rem("   ", '/'),
				rem("bell\a", '/'), rem("/", '/')}},
			want:    map[string]string{" Pad ": "Pad", "x//y/": "x/y", "   ": "_", "bell\a": "bell_"},
			skipped: []string{"/"}},

		// presets
		{name: "gmail", sep: '/', l: Listing{Folders: gmail},
			want: map[string]string{"INBOX": "INBOX", "[Gmail]/All Mail": "Archive", "[Gmail]/Drafts": "Drafts",
				"[Gmail]/Important": "Important", "[Gmail]/Sent Mail": "Sent", "[Gmail]/Bin": "Trash",
				"Work/Projects": "Work/Projects"},
			skipped: []string{"[Gmail]", "[Gmail]/Chat", "[Gmail]/Spam", "[Gmail]/Starred"}},
		{name: "google mail spelling, preset only", sep: '.', l: Listing{Folders: googleMail},
			o: func(o *Options) { o.Junk = true },
			want: map[string]string{"INBOX": "INBOX", "[Google Mail]/All Mail": "Archive", "[Google Mail]/Sent Mail": "Sent",
				"[Google Mail]/Trash": "Trash", "[Google Mail]/Spam": "Junk", "[Google Mail]/Important": "Important"},
			skipped: []string{"[Google Mail]", "[Google Mail]/Chat", "[Google Mail]/Starred"}},
		{name: "gmail names under the imap preset keep their place", sep: '/',
			l:    Listing{Folders: []Remote{rem("[Gmail]/Sent Mail", '/', sent), rem("[Gmail]/Chat", '/')}},
			o:    func(o *Options) { o.Provider = task.ProviderIMAP },
			want: map[string]string{"[Gmail]/Sent Mail": "Sent", "[Gmail]/Chat": "[Gmail]/Chat"}},
		{name: "outlook", sep: '/', o: func(o *Options) { o.Provider = task.ProviderOutlook },
			l: Listing{Folders: []Remote{rem("Sent Items", '/'), rem("Deleted Items", '/'), rem("Junk Email", '/'),
				rem("Archive", '/'), rem("Drafts", '/'), rem("Sent Items/2024", '/')}},
			want: map[string]string{"Sent Items": "Sent", "Deleted Items": "Trash", "Archive": "Archive",
				"Drafts": "Drafts", "Sent Items/2024": "Sent/2024"},
			skipped: []string{"Junk Email"}},
		{name: "yahoo", sep: '/', o: func(o *Options) { o.Provider = task.ProviderYahoo; o.Junk = true },
			l: Listing{Folders: []Remote{rem("Bulk Mail", '/'), rem("Draft", '/'), rem("Sent", '/'),
				rem("Trash", '/', imap.MailboxAttrTrash), rem("Archive", '/')}},
			want: map[string]string{"Bulk Mail": "Junk", "Draft": "Drafts", "Sent": "Sent", "Trash": "Trash", "Archive": "Archive"}},
		{name: "attributes win over the preset", sep: '/', o: func(o *Options) { o.Provider = task.ProviderOutlook },
			l:    Listing{Folders: []Remote{rem("Junk Email", '/', imap.MailboxAttrArchive)}},
			want: map[string]string{"Junk Email": "Archive"}},
		{name: "imap: attributes only", sep: '/',
			l:    Listing{Folders: []Remote{rem("Junk Email", '/'), rem("Spam", '/', junk)}},
			want: map[string]string{"Junk Email": "Junk Email"}, skipped: []string{"Spam"}},

		// switches
		{name: "all off", sep: '/', l: Listing{Folders: gmail},
			o: func(o *Options) { o.Trash, o.Important, o.Archives = false, false, false },
			want: map[string]string{"INBOX": "INBOX", "[Gmail]/Drafts": "Drafts", "[Gmail]/Sent Mail": "Sent",
				"Work/Projects": "Work/Projects"},
			skipped: []string{"[Gmail]", "[Gmail]/All Mail", "[Gmail]/Bin", "[Gmail]/Chat", "[Gmail]/Important",
				"[Gmail]/Spam", "[Gmail]/Starred"}},
		{name: "children of a skipped junk folder", sep: '/',
			l:       Listing{Folders: []Remote{rem("Junk", '/', junk), rem("Junk/old", '/')}},
			skipped: []string{"Junk", "Junk/old"}},

		// collisions
		{name: "label Sent beside Gmail's Sent Mail", sep: '/',
			l:    Listing{Folders: []Remote{rem("Sent", '/'), rem("[Gmail]/Sent Mail", '/', sent), rem("Sent/x", '/')}},
			o:    func(o *Options) { o.Provider = task.ProviderGmail },
			want: map[string]string{"[Gmail]/Sent Mail": "Sent", "Sent": "Sent (2)", "Sent/x": "Sent (2)/x"}},
		{name: "two special-use Sent folders merge", sep: '/',
			l:    Listing{Folders: []Remote{rem("Sent", '/', sent), rem("Sent Messages", '/', sent)}},
			want: map[string]string{"Sent": "Sent", "Sent Messages": "Sent"}},
		{name: "trimmed and case variants", sep: '/',
			l: Listing{Folders: []Remote{rem("Foo", '/'), rem("Foo ", '/'), rem("Foo (2)", '/'),
				rem("INBOX/a", '/'), rem("inbox/a", '/')}},
			want: map[string]string{"Foo": "Foo", "Foo ": "Foo (3)", "Foo (2)": "Foo (2)",
				"INBOX/a": "INBOX/a", "inbox/a": "INBOX/a (2)"}},
		{name: "separator look-alike meets the real thing", sep: '/',
			l:    Listing{Folders: []Remote{rem("a/b", 0), rem("a∕b", 0)}},
			want: map[string]string{"a/b": "a∕b", "a∕b": "a∕b (2)"}},
		{name: "noselect parent shares with a folder", sep: '/',
			l:    Listing{Folders: []Remote{rem("p ", '/', noselect), rem("p", '/'), rem("p /c", '/')}},
			want: map[string]string{"p": "p", "p /c": "p/c"}, skipped: []string{"p "}},

		// modes
		{name: "inbox mode", sep: '/', l: Listing{Folders: gmail[:3]},
			o:       func(o *Options) { o.Mode = task.FoldersInbox },
			want:    map[string]string{"INBOX": "INBOX"},
			skipped: []string{"[Gmail]", "[Gmail]/All Mail"}},
		{name: "all-except on the remote name", sep: '.',
			l: Listing{Folders: []Remote{rem("INBOX", '/'), rem("Archive/2019", '/'), rem("Archive", '/'),
				rem("Lists/go", '/')}},
			o: func(o *Options) {
				o.Mode = task.FoldersAllExcept
				o.Exclude = []*regexp.Regexp{regexp.MustCompile(`^Archive/`), regexp.MustCompile(`go$`)}
			},
			want:    map[string]string{"INBOX": "INBOX", "Archive": "Archive"},
			skipped: []string{"Archive/2019", "Lists/go"}},
		{name: "undecodable names are reported", sep: '/',
			l:    Listing{Folders: []Remote{rem("INBOX", '/')}, Undecodable: []string{"Tom & Jerry"}},
			want: map[string]string{"INBOX": "INBOX"}, skipped: []string{"Tom & Jerry"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts(task.ProviderGmail)
			if tt.o != nil {
				tt.o(&o)
			}
			p := Map(tt.l, tt.sep, o)
			got := map[string]string{}
			for _, m := range p.Folders {
				got[m.Remote.Name] = m.Local
			}
			if !maps.Equal(got, tt.want) && (len(got) > 0 || len(tt.want) > 0) {
				t.Errorf("folders:\n got %q\nwant %q", got, tt.want)
			}
			var skipped []string
			for _, s := range p.Skipped {
				skipped = append(skipped, s.Remote)
			}
			if !slices.Equal(skipped, tt.skipped) {
				t.Errorf("skipped: got %q, want %q (%q)", skipped, tt.skipped, p.Skipped)
			}
			checkInvariants(t, p, tt.sep)
		})
	}
}

func TestMapCreate(t *testing.T) {
	l := Listing{Folders: []Remote{rem("INBOX", '/'), rem("a", '/', noselect), rem("a/b/c", '/'),
		rem("INBOX/x", '/'), rem("[Gmail]", '/', noselect), rem("[Gmail]/Sent Mail", '/', sent)}}
	p := Map(l, '.', opts(task.ProviderGmail))
	want := []string{"Sent", "a", "INBOX.x", "a.b", "a.b.c"}
	if !slices.Equal(p.Create, want) {
		t.Errorf("create: got %q, want %q", p.Create, want)
	}
}

func TestMapRoleNames(t *testing.T) {
	o := opts(task.ProviderIMAP)
	o.Names = Names{Sent: "INBOX/Sent Items"}
	p := Map(Listing{Folders: []Remote{rem("S", '/', sent)}}, '/', o)
	if len(p.Folders) != 1 || p.Folders[0].Local != "INBOX/Sent Items" || p.Folders[0].Role != RoleSent {
		t.Errorf("got %+v", p.Folders)
	}
}

func TestNewOptions(t *testing.T) {
	tk := task.New()
	tk.Folders, tk.Exclude = task.FoldersAllExcept, []string{"^ok$", "(bad"}
	_, err := NewOptions(tk)
	if err == nil || !strings.Contains(err.Error(), `"(bad"`) {
		t.Fatalf("got %v, want an error naming the expression", err)
	}
	tk.Exclude = []string{"^Trash"}
	o, err := NewOptions(tk)
	if err != nil || len(o.Exclude) != 1 || !o.Trash || o.Junk {
		t.Fatalf("got %+v, %v", o, err)
	}
}

// checkInvariants holds for every plan: local names are clean UTF-8, no
// component is empty, "." or "..", and folders share a local name only
// when they share a role.
func checkInvariants(t *testing.T, p Plan, sep rune) {
	t.Helper()
	owner := map[string]Mapping{}
	for _, m := range p.Folders {
		if !utf8Clean(m.Local) {
			t.Errorf("local name %q of %q is not clean", m.Local, m.Remote.Name)
		}
		for _, c := range strings.Split(m.Local, string(sep)) {
			if c == "" || c == "." || c == ".." {
				t.Errorf("local name %q of %q has component %q", m.Local, m.Remote.Name, c)
			}
		}
		if o, ok := owner[m.Local]; ok && (o.Role != m.Role || m.Role == RoleNone) {
			t.Errorf("%q and %q share local %q", o.Remote.Name, m.Remote.Name, m.Local)
		}
		owner[m.Local] = m
	}
}
