package task

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mailpull/mailpull/internal/tomlfile"
)

func valid() Task {
	t := New()
	t.ID = "a0241w"
	t.LocalUser = "alice"
	t.Host = "imap.example.org"
	t.Port = 993
	t.RemoteUser = "alice@example.net"
	return t
}

func TestValidateAcceptsDefaults(t *testing.T) {
	tk := valid()
	if err := tk.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateReportsEveryField(t *testing.T) {
	cases := []struct {
		field string
		edit  func(*Task)
	}{
		// identity
		{"id", func(t *Task) { t.ID = "ABC" }},
		{"id", func(t *Task) { t.ID = "../etc" }},
		{"local_user", func(t *Task) { t.LocalUser = "" }},
		{"local_user", func(t *Task) { t.LocalUser = "alice\nExecStart=/bin/sh" }},
		{"local_user", func(t *Task) { t.LocalUser = "a%i" }},
		{"local_user", func(t *Task) { t.LocalUser = "../root" }},
		{"local_user", func(t *Task) { t.LocalUser = ".." }},
		{"local_user", func(t *Task) { t.LocalUser = "a\x00b" }},
		{"remote_user", func(t *Task) { t.RemoteUser = " bob" }},
		// remote
		{"provider", func(t *Task) { t.Provider = "aol" }},
		{"security", func(t *Task) { t.Security = "tls" }},
		{"security", func(t *Task) { t.Security = SecurityNone; t.TLSInsecure = true }},
		{"host", func(t *Task) { t.Host = "imap example.org" }},
		{"host", func(t *Task) { t.Host = "" }},
		{"port", func(t *Task) { t.Port = 0 }},
		{"port", func(t *Task) { t.Port = 65536 }},
		{"tls_ca", func(t *Task) { t.TLSCA = "ca.pem" }},
		{"tls_ca", func(t *Task) { t.TLSCA = "/etc/../ca.pem" }},
		{"tls_fingerprint", func(t *Task) { t.TLSFingerprint = "abcd" }},
		// folders
		{"folders", func(t *Task) { t.Folders = "some" }},
		{"exclude", func(t *Task) { t.Folders = FoldersAllExcept }},
		{"exclude", func(t *Task) { t.Folders = FoldersAllExcept; t.Exclude = []string{"^Spam(", "ok"} }},
		{"exclude", func(t *Task) { t.Exclude = []string{"x"} }},
		{"sieve", func(t *Task) { t.Sieve = true }},
		{"first_run", func(t *Task) { t.FirstRun = "old" }},
		{"max_messages", func(t *Task) { t.MaxMessages = -1 }},
		// deletion
		{"delete_remote", func(t *Task) { t.DeleteRemote = "always" }},
		{"retention_days", func(t *Task) { t.DeleteRemote = DeleteOlderThan }},
		{"retention_days", func(t *Task) { t.RetentionDays = 3 }},
		{"delete_local", func(t *Task) { t.Folders = FoldersInbox; t.DeleteLocal = true }},
		// schedule
		{"schedule", func(t *Task) { t.Schedule = "0m" }},
		{"schedule", func(t *Task) { t.Schedule = "daily\nExecStart=/bin/sh" }},
		{"schedule", func(t *Task) { t.Schedule = "%H" }},
	}
	for _, c := range cases {
		tk := valid()
		c.edit(&tk)
		err := tk.Validate()
		var ke *tomlfile.KeyError
		if !errors.As(err, &ke) || ke.Key != c.field {
			t.Errorf("%+v: error %v, want one on %s", tk, err, c.field)
		}
	}
}

func TestValidateAllAtOnce(t *testing.T) {
	tk := valid()
	tk.Port, tk.Security, tk.Schedule = 0, "tls", "x\n"
	err := tk.Validate()
	if n := len(tomlfile.Split(err)); n != 3 {
		t.Fatalf("%d errors, want 3: %v", n, err)
	}
}

func TestFingerprintForms(t *testing.T) {
	hex := strings.Repeat("AB", 32)
	colons := strings.TrimSuffix(strings.Repeat("ab:", 32), ":")
	for _, in := range []string{hex, colons} {
		if got := NormalizeFingerprint(in); got != strings.Repeat("ab", 32) {
			t.Errorf("%q → %q", in, got)
		}
	}
}

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := NewID()
		if !ValidID(id) {
			t.Fatalf("NewID gave %q", id)
		}
		seen[id] = true
	}
	if len(seen) < 990 {
		t.Errorf("only %d distinct ids in 1000", len(seen))
	}
	for _, bad := range []string{"", "abcde", "abcdefg", "ABCDEF", "abc/de", "abc.de"} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

func TestStoreRoundTrip(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "tasks")}
	tk := valid()
	tk.Folders, tk.Exclude = FoldersAllExcept, []string{`^Shared`, `"quoted" \d`}
	if err := s.Save(tk); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Exclude, "|") != strings.Join(tk.Exclude, "|") || got.Host != tk.Host || !got.Trash {
		t.Fatalf("round trip: got %+v", got)
	}
	fi, _ := os.Stat(s.path(tk.ID))
	di, _ := os.Stat(s.Dir)
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Errorf("modes file %v dir %v, want 0600 and 0700", fi.Mode().Perm(), di.Mode().Perm())
	}
	data, _ := os.ReadFile(s.path(tk.ID))
	if !strings.Contains(string(data), "# Remote IMAP server.") {
		t.Errorf("task file has no comments:\n%s", data)
	}
	if err := s.Remove(tk.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(tk.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after remove: %v", err)
	}
}

func TestParseUnknownKeysWithLines(t *testing.T) {
	data, _ := Encode(valid())
	doc := string(data) + "colour = \"red\"\nfolder = \"all\"\n"
	_, err := Parse("x.toml", []byte(doc))
	errs := tomlfile.Split(err)
	if len(errs) != 2 {
		t.Fatalf("want 2 errors, got %v", err)
	}
	lines := strings.Count(doc, "\n")
	for i, key := range []string{"colour", "folder"} {
		want := "x.toml:" + strconv.Itoa(lines-1+i) + `: unknown key "` + key + `"`
		if errs[i].Error() != want {
			t.Errorf("error %d: %q, want %q", i, errs[i], want)
		}
	}
}

func TestParseBadValuesWithLines(t *testing.T) {
	doc := "id = \"a0241w\"\nlocal_user = \"alice\"\nprovider = \"imap\"\nhost = \"h\"\nport = 70000\n" +
		"security = \"ssl\"\nremote_user = \"r\"\nfolders = \"all\"\nfirst_run = \"unseen\"\ndelete_remote = \"none\"\nschedule = \"0m\"\n"
	_, err := Parse("t.toml", []byte(doc))
	got := err.Error()
	for _, want := range []string{"t.toml:5: port: 70000", "t.toml:11: schedule:"} {
		if !strings.Contains(got, want) {
			t.Errorf("error %q lacks %q", got, want)
		}
	}
	_, err = Parse("t.toml", []byte("id = \"a0241w\"\nport = \"x\"\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "t.toml:2:") {
		t.Errorf("type error: %v", err)
	}
}

func TestCheckCalendar(t *testing.T) {
	ctx := context.Background()
	if err := CheckCalendar(ctx, "Mon..Fri *-*-* 08:00"); err != nil {
		t.Fatal(err)
	}
	err := CheckCalendar(ctx, "5x")
	if err == nil || !strings.Contains(err.Error(), "systemd does not accept it") {
		t.Fatalf("5x: %v", err)
	}
}

func TestScheduleRoundTrip(t *testing.T) {
	for _, s := range []string{"manual", "5m", "90m", "2h", "168h", "daily", "Mon *-*-* 02:00:00"} {
		sc, err := ParseSchedule(s)
		if err != nil || sc.String() != s {
			t.Errorf("%q: %v, %q", s, err, sc.String())
		}
	}
	for _, s := range []string{"0h", "169h", "5s", " daily", "a;b", "x\ny", "%n"} {
		if _, err := ParseSchedule(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
