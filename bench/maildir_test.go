//go:build bench

package bench

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/mailpull/mailpull/internal/rig"
)

// remoteFiles locates the remote rig server's files. The rig exposes no path
// for the remote (only for the local server), but it keeps the CA next to
// the configuration and the homes; this fails loudly if that ever changes.
type remoteFiles struct {
	conf string // dovecot.conf, for doveadm -c
	home string // the test account's home
}

func locateRemote(t testing.TB, r *rig.Remote) remoteFiles {
	t.Helper()
	dir := filepath.Dir(r.CA.CAFile)
	f := remoteFiles{conf: filepath.Join(dir, "dovecot.conf"), home: filepath.Join(dir, "home", r.User)}
	conf, err := os.ReadFile(f.conf)
	if err != nil || !strings.Contains(string(conf), "mail_home = "+filepath.Join(dir, "home")+"/%Ln") ||
		!strings.Contains(string(conf), "mail_location = maildir:~/Maildir\n") {
		t.Fatalf("bench: the remote rig server's layout changed (%s): %v", f.conf, err)
	}
	return f
}

// fillMaildir writes the corpus straight into the remote account's Maildir++
// (separator "."), which takes seconds where IMAP APPEND of 10,000 messages
// takes minutes. Dovecot indexes the files at the first access; the caller
// verifies the account over IMAP afterwards.
func fillMaildir(t testing.TB, c *corpus, home string) {
	t.Helper()
	root := filepath.Join(home, "Maildir")
	for i, f := range folders {
		dir := maildirFolder(root, f.path)
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
				t.Fatalf("bench: fill: %v", err)
			}
		}
		writeKeywords(t, dir)
		for j := range c.Msgs {
			if c.Msgs[j].Folder == i {
				writeMaildirFile(t, c, &c.Msgs[j], dir)
			}
		}
	}
	rig.Chown(t, home)
}

// maildirFolder is Maildir++'s directory for a folder: ".a.b", with names in
// modified UTF-7 as Dovecot stores them without UTF-8 mailbox names.
func maildirFolder(root string, path []string) string {
	if len(path) == 1 && path[0] == "INBOX" {
		return root
	}
	enc := make([]string, len(path))
	for i, p := range path {
		enc[i] = mutf7(p)
	}
	return filepath.Join(root, "."+strings.Join(enc, "."))
}

// writeKeywords declares the keyword letters a, b, c of the file names
// (Dovecot's dovecot-keywords file).
func writeKeywords(t testing.TB, dir string) {
	t.Helper()
	var b strings.Builder
	for i, k := range keywords {
		fmt.Fprintf(&b, "%d %s\n", i, k)
	}
	if err := os.WriteFile(filepath.Join(dir, "dovecot-keywords"), []byte(b.String()), 0o600); err != nil {
		t.Fatalf("bench: fill: %v", err)
	}
}

// writeMaildirFile stores one message in cur/ with its flags in the name,
// its size as S= (so Dovecot need not stat it) and its INTERNALDATE as the
// file's mtime, which is where Maildir keeps it.
func writeMaildirFile(t testing.TB, c *corpus, m *spec, dir string) {
	t.Helper()
	tmp := filepath.Join(dir, "tmp", fmt.Sprintf("%d.bench", m.Seq))
	f, err := os.Create(tmp)
	if err != nil {
		t.Fatalf("bench: fill: %v", err)
	}
	m.Size, err = c.write(f, m)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	name := fmt.Sprintf("%d.M%dP1.bench,S=%d:2,%s", m.Date.Unix(), m.Seq, m.Size, maildirFlags(m))
	final := filepath.Join(dir, "cur", name)
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err == nil {
		err = os.Chtimes(final, m.Date, m.Date)
	}
	if err != nil {
		t.Fatalf("bench: fill: %v", err)
	}
}

// maildirFlags is the info part after ":2,": system flags as capitals,
// keywords as a–z, in ASCII order.
func maildirFlags(m *spec) string {
	letters := map[string]byte{`\Draft`: 'D', `\Flagged`: 'F', `\Answered`: 'R', `\Seen`: 'S'}
	var out []byte
	for _, f := range m.Flags {
		out = append(out, letters[f])
	}
	for _, k := range m.Keywords {
		out = append(out, byte('a'+slices.Index(keywords, k)))
	}
	slices.Sort(out)
	return string(out)
}

// mutf7 encodes a mailbox name in IMAP's modified UTF-7 (RFC 3501 5.1.3).
func mutf7(s string) string {
	var b strings.Builder
	var run []rune
	flush := func() {
		if len(run) == 0 {
			return
		}
		var raw []byte
		for _, u := range utf16.Encode(run) {
			raw = append(raw, byte(u>>8), byte(u))
		}
		enc := base64.RawStdEncoding.EncodeToString(raw)
		b.WriteString("&" + strings.ReplaceAll(enc, "/", ",") + "-")
		run = run[:0]
	}
	for _, r := range s {
		switch {
		case r >= 0x20 && r <= 0x7e:
			flush()
			if r == '&' {
				b.WriteString("&-")
			} else {
				b.WriteRune(r)
			}
		default:
			run = append(run, r)
		}
	}
	flush()
	return b.String()
}
