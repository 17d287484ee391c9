package task

import (
	"strings"
	"testing"
)

// A task file that parses must be valid, must survive a round trip, and
// nothing in it may hold a character that could break a unit file or a path.
func FuzzParse(f *testing.F) {
	good, _ := Encode(valid())
	f.Add(string(good))
	f.Add("id = \"a0241w\"\nport = \"x\"\n")
	f.Add("id = 'a0241w'\nlocal_user = \"a\\nb\"\n")
	f.Fuzz(func(t *testing.T, doc string) {
		tk, err := Parse("f.toml", []byte(doc))
		if err != nil {
			return
		}
		for _, s := range []string{tk.ID, tk.LocalUser, tk.RemoteUser, tk.Host, tk.Schedule, tk.TLSCA} {
			if strings.ContainsAny(s, "\x00\n\r%") {
				t.Fatalf("accepted %q", s)
			}
		}
		again, err := Encode(tk)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse("f.toml", again)
		if err != nil || back.ID != tk.ID || back.Host != tk.Host || len(back.Exclude) != len(tk.Exclude) {
			t.Fatalf("round trip: %v\n%s", err, again)
		}
	})
}

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"manual", "5m", "2h", "daily", "Mon..Fri *-*-* 08:00", "0m", "%n", "a\nb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := ParseSchedule(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(sc.Calendar, "\x00\n\r%\\;\"'") {
			t.Fatalf("accepted %q", s)
		}
		if back, err := ParseSchedule(sc.String()); err != nil || back != sc {
			t.Fatalf("%q → %q → %v, %v", s, sc.String(), back, err)
		}
	})
}
