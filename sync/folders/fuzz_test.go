package folders

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/mailpull/mailpull/task"
)

func utf8Clean(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}

// FuzzPlan maps a few fuzzer-made names. Beyond checkInvariants: without
// roles and prefixes, a folder keeps exactly its number of levels, so no
// separator left inside a component made up a level.
func FuzzPlan(f *testing.F) {
	f.Add("INBOX\nA/B\nA∕B\n a \n.", byte('/'), byte('.'))
	f.Add("INBOX.x\nINBOX.x.\n..\n[Gmail].Spam", byte('.'), byte('/'))
	f.Add("Tom & Jerry\n\x01\n/\nFoo (2)\nFoo \nFoo", byte(0), byte('/'))
	f.Fuzz(func(t *testing.T, names string, delim, sep byte) {
		d, s := pick(delim, '/', '.', 0), pick(sep, '/', '.')
		var l Listing
		for _, n := range strings.Split(names, "\n") {
			l.Folders = append(l.Folders, Remote{Name: n, Delim: d})
		}
		p := Map(l, s, opts(task.ProviderIMAP))
		checkInvariants(t, p, s)
		for _, m := range p.Folders {
			if m.Role != RoleNone {
				continue
			}
			want := len(splitRemote(m.Remote.Name, d))
			if got := len(strings.Split(m.Local, string(s))); got != want {
				t.Errorf("%q (%d levels) became %q (%d levels)", m.Remote.Name, want, m.Local, got)
			}
		}
		for _, c := range p.Create {
			if !utf8Clean(c) {
				t.Errorf("create %q is not clean", c)
			}
		}
	})
}

func pick(b byte, choices ...rune) rune {
	return choices[int(b)%len(choices)]
}
