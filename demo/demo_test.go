//go:build demo

package demo

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailpull/mailpull/internal/rig"
)

// The remote account of the Gmail-like provider: folder, number of
// messages. [Gmail]/All Mail holds every message of the folders marked
// archived, as Gmail's does.
var gmailFolders = []struct {
	name     string
	n        int
	archived bool // also in [Gmail]/All Mail
}{
	{"INBOX", 140, true},
	{"[Gmail]/Sent Mail", 60, true},
	{"[Gmail]/Drafts", 4, false},
	{"[Gmail]/Spam", 15, false},
	{"[Gmail]/Bin", 12, false},
	{"Work", 35, true},
	{"Reçus/Été", 25, true},
}

// bobSieve is the local user bob's Sieve script: what the INBOX task
// delivers through LMTP is filed by it.
const bobSieve = `require ["fileinto"];
# Bills go to Invoices, mailing lists to Lists, the rest stays in INBOX.
if header :contains "subject" "Invoice" {
  fileinto "Invoices";
  stop;
}
if exists "list-id" {
  fileinto "Lists";
  stop;
}
`

func TestDemo(t *testing.T) {
	start := time.Now()
	bin := os.Getenv("MAILPULL_BIN")
	if bin == "" {
		t.Fatal("MAILPULL_BIN: the mailpull binary to show (make demo sets it)")
	}
	if os.Geteuid() != 0 {
		t.Fatal("make demo runs as root (sudo make demo): systemd-creds encrypts the tasks' passwords with the host key, which only root may use")
	}

	step("Starting throw-away servers on 127.0.0.1, under a temporary directory")
	say("(this machine's own Dovecot and slapd, if any, are not used or touched)")
	slapd := rig.StartSlapd(t)
	say("slapd, the directory of the local users (alice, bob, carol)   %s", slapd.URL)
	local := rig.StartLocal(t, rig.LocalOptions{LDAP: slapd})
	say("local Dovecot: users from slapd, master user %q, LMTP + Sieve  imap://%s", local.MasterUser, local.IMAPAddr)
	remote := rig.StartRemoteWith(t, rig.RemoteOptions{Separator: "/"})
	say("remote Dovecot, playing Gmail (separator \"/\", TLS)           imap://%s", remote.Addr)
	slow := startProxy(t, remote.Addr)
	say("a proxy in front of it, slow like a provider over the Internet  %s", slow)

	step("Filling the remote accounts")
	fillGmail(t, remote)
	bobUser, bobPW := "bob.old", "bob-old-password"
	remote.AddUser(t, bobUser, bobPW)
	n := fillInbox(t, remote, bobUser, bobPW)
	say("%s: %d new messages in INBOX (invoices, a mailing list, friends)", bobUser, n)

	dir := t.TempDir()
	cfg := writeConfig(t, dir, local, slapd)
	say("mailpull's configuration for this demo: %s", cfg)
	mp := func(stdin string, args ...string) string {
		return mailpull(t, bin, cfg, stdin, args...)
	}

	step("Local user bob has a Sieve script that files mail")
	local.SetSieve(t, "bob", bobSieve)
	fmt.Print(indent(bobSieve))

	step("Adding two tasks with the mailpull command")
	say("Both are manual (no timer): this demo runs them itself and never talks to this machine's systemd.")
	say("On a real host, --schedule 15m makes a systemd timer, mailpull-sync@ID.timer.")
	host, port, _ := net.SplitHostPort(slow)
	mirror := strings.TrimSpace(mp(remote.Password+"\n", "task", "add", "--local-user", "alice",
		"--host", host, "--port", port, "--security", "starttls", "--tls-ca", remote.CA.CAFile,
		"--provider", "gmail", "--user", remote.User, "--password-stdin", "--schedule", "manual"))
	inbox := strings.TrimSpace(mp(bobPW+"\n", "task", "add", "--local-user", "bob",
		"--host", host, "--port", port, "--security", "starttls", "--tls-ca", remote.CA.CAFile,
		"--user", bobUser, "--password-stdin", "--folders", "inbox", "--sieve", "--schedule", "manual"))
	mp("", "task", "list")

	step("Running the Gmail mirror task (every folder, byte for byte, flags and dates)")
	mp("", "sync", mirror)
	step("Running it again: nothing new to copy")
	mp("", "sync", mirror)

	step("Running the INBOX task: new mail delivered through LMTP, so bob's Sieve script files it")
	mp("", "sync", inbox)

	step("What the local users have now (read back from the local Dovecot)")
	show("alice", local.Read(t, "alice"))
	show("bob", local.Read(t, "bob"))

	step("mailpull task list")
	mp("", "task", "list")
	step("mailpull info " + mirror + " (both sides of the mirror task)")
	mp("", "info", mirror)
	step("mailpull info " + inbox + " (the INBOX task)")
	mp("", "info", inbox)

	step("Cleaning up")
	if os.Getenv("MAILPULL_RIG_KEEP") != "" {
		say("MAILPULL_RIG_KEEP is set: the servers stop, their directories are kept (paths below).")
	} else {
		say("Stopping the servers and deleting their directories and %s.", dir)
	}
	say("Nothing was installed or started outside of them (but the Debian packages above, if missing, and")
	say("systemd-creds' host key in /var/lib/systemd/credential.secret, which encrypts the passwords).")
	t.Cleanup(func() {
		fmt.Printf("\nDone in %v. On a real host: see the README's quick start, or make deb.\n", time.Since(start).Round(time.Second))
	})
}

var steps int

// step prints a heading.
func step(what string) {
	steps++
	fmt.Printf("\n==> %d. %s\n", steps, what)
}

func say(format string, args ...any) {
	fmt.Printf("    "+format+"\n", args...)
}

func indent(s string) string {
	return "      " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n      ") + "\n"
}

// mailpull runs the binary as an admin would, printing the command line
// and letting its output through (a progress bar on a terminal), and
// returns its standard output.
func mailpull(t *testing.T, bin, cfg, stdin string, args ...string) string {
	t.Helper()
	shown := "mailpull " + strings.Join(args, " ")
	if stdin != "" {
		shown = "echo '<password>' | " + shown
	}
	fmt.Printf("\n    $ %s\n", shown)
	var out bytes.Buffer
	cmd := exec.Command(bin, append([]string{"--config", cfg}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = io.MultiWriter(os.Stdout, &out), os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mailpull %s: %v", strings.Join(args, " "), err)
	}
	return out.String()
}

// writeConfig writes mailpull.toml for the demo's servers, with every
// file mailpull keeps (tasks, credentials, ledgers, units) under dir.
func writeConfig(t *testing.T, dir string, local *rig.Local, slapd *rig.Slapd) string {
	t.Helper()
	cfg := fmt.Sprintf(`# mailpull configuration of "make demo"
state_dir       = %q
tasks_dir       = %q
credentials_dir = %q

[dovecot]
imap                 = %q
lmtp                 = %q
master_user          = %q
master_password_file = %q
separator            = "*"

[ldap]
url                = %q
bind_dn            = %q
bind_password_file = %q
base_dn            = %q

[systemd]
unit_dir = %q
`, filepath.Join(dir, "state"), filepath.Join(dir, "tasks"), filepath.Join(dir, "credentials"),
		local.IMAPAddr, local.LMTPSocket, local.MasterUser, local.MasterPasswordFile,
		slapd.URL, slapd.BindDN, slapd.BindPasswordFile, slapd.UsersDN, filepath.Join(dir, "units"))
	path := filepath.Join(dir, "mailpull.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// show prints a user's folders with their message counts.
func show(user string, mail map[string][]rig.Message) {
	var names []string
	total := 0
	for name, msgs := range mail {
		names = append(names, name)
		total += len(msgs)
	}
	sort.Strings(names)
	say("%s: %d messages", user, total)
	for _, name := range names {
		say("  %-22s %4d", name, len(mail[name]))
	}
}

// fillGmail puts a Gmail-like mailbox in the remote test account.
func fillGmail(t *testing.T, remote *rig.Remote) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	c := remote.Dial(t)
	var all []rig.Message
	total, attachments, size := 0, 0, 0
	for _, f := range gmailFolders {
		msgs := make([]rig.Message, f.n)
		for i := range msgs {
			msgs[i] = message(r, f.name, i)
			if bytes.Contains(msgs[i].Body, []byte("Content-Disposition: attachment")) {
				attachments++
			}
			size += len(msgs[i].Body)
		}
		rig.Append(t, c, f.name, msgs...)
		say("%-20s %4d messages", f.name, f.n)
		total += f.n
		if f.archived {
			all = append(all, msgs...)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Date.Before(all[j].Date) })
	rig.Append(t, c, "[Gmail]/All Mail", all...)
	say("%-20s %4d messages (the archived ones again, as on Gmail)", "[Gmail]/All Mail", len(all))
	for _, m := range all {
		size += len(m.Body)
	}
	say("%s: %d messages, %d with attachments, %.1f MB", remote.User, total+len(all), attachments, float64(size)/1e6)
	_ = c.Logout().Wait()
}

var (
	people = []string{"Ana Lima <ana.lima@example.net>", "Jörg Müller <joerg@example.de>", "Chloé Martin <chloe@example.fr>",
		"Sam Okafor <sam@example.org>", "Priya Raman <priya@example.in>", "Team Calendar <calendar@example.com>"}
	topics = []string{"Lunch on Friday?", "Re: the quarterly report", "Photos from the trip", "Contract draft v3",
		"Re: Re: weekend plans", "Meeting notes", "Vacances d'été 🌞", "Your flight booking", "Fwd: apartment viewing",
		"Budget 2026", "Überweisung erhalten", "Quick question"}
	spam = []string{"You have WON a prize!!!", "Cheap watches", "Urgent: verify your account", "Hot singles nearby"}
)

// message is one realistic message for folder: headers, a text body, and
// every fifth one an attachment (a PDF or a picture, 15-60 kB).
func message(r *rand.Rand, folder string, i int) rig.Message {
	date := time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(700*24)) * time.Hour).Add(time.Duration(r.IntN(3600)) * time.Second)
	from, to := people[r.IntN(len(people))], "Demo User <remote@gmail.example>"
	subject := topics[r.IntN(len(topics))]
	var flags []imap.Flag
	switch folder {
	case "[Gmail]/Sent Mail":
		from, to = to, people[r.IntN(len(people))]
		flags = append(flags, imap.FlagSeen)
	case "[Gmail]/Drafts":
		from, to = "Demo User <remote@gmail.example>", people[r.IntN(len(people))]
		flags = append(flags, imap.FlagDraft, imap.FlagSeen)
	case "[Gmail]/Spam":
		from, subject = fmt.Sprintf("Winner Dept <noreply%d@spam.example>", i), spam[r.IntN(len(spam))]
	default:
		if r.IntN(10) < 8 {
			flags = append(flags, imap.FlagSeen)
		}
		if r.IntN(10) == 0 {
			flags = append(flags, imap.FlagFlagged)
		}
		if r.IntN(6) == 0 {
			flags = append(flags, imap.FlagAnswered)
		}
	}
	id := fmt.Sprintf("<%d.%s.%d@gmail.example>", date.Unix(), strings.NewReplacer("/", ".", "[", "", "]", "", " ", "-").Replace(folder), i)
	text := fmt.Sprintf("Hello,\r\n\r\n%s\r\n\r\nBest,\r\n%s\r\n", strings.Repeat("Here is some text about "+subject+". ", 3+r.IntN(30)), strings.Split(from, " <")[0])
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n",
		from, to, mimeWord(subject), date.Format(time.RFC1123Z), id)
	if i%5 != 3 {
		fmt.Fprintf(&b, "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s", text)
		return rig.Message{Flags: flags, Date: date, Body: []byte(b.String())}
	}
	name, ctype, data := attachment(r)
	boundary := fmt.Sprintf("=_demo_%d_%d", date.Unix(), i)
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=%q\r\n\r\n--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", boundary, boundary, text)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: %s; name=%q\r\nContent-Disposition: attachment; filename=%q\r\nContent-Transfer-Encoding: base64\r\n\r\n", boundary, ctype, name, name)
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	fmt.Fprintf(&b, "%s\r\n--%s--\r\n", enc, boundary)
	return rig.Message{Flags: flags, Date: date, Body: []byte(b.String())}
}

func attachment(r *rand.Rand) (name, ctype string, data []byte) {
	data = make([]byte, 15000+r.IntN(45000))
	for i := range data {
		data[i] = byte(r.UintN(256))
	}
	if r.IntN(2) == 0 {
		copy(data, "%PDF-1.4\n")
		return fmt.Sprintf("invoice-%04d.pdf", r.IntN(10000)), "application/pdf", data
	}
	copy(data, "\xff\xd8\xff\xe0\x00\x10JFIF")
	return fmt.Sprintf("IMG_%04d.jpg", r.IntN(10000)), "image/jpeg", data
}

// mimeWord encodes a header value with non-ASCII characters (RFC 2047).
func mimeWord(s string) string {
	for _, c := range s {
		if c > 127 {
			return "=?utf-8?b?" + base64.StdEncoding.EncodeToString([]byte(s)) + "?="
		}
	}
	return s
}

// fillInbox puts new (unseen) mail in user's INBOX: invoices, a mailing
// list, and friends, for the INBOX task and bob's Sieve script.
func fillInbox(t *testing.T, remote *rig.Remote, user, password string) int {
	t.Helper()
	c, err := imapclient.DialInsecure(remote.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, password).Wait(); err != nil {
		t.Fatal(err)
	}
	var msgs []rig.Message
	for i := range 30 {
		date := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * 7 * time.Hour)
		var head string
		switch i % 3 {
		case 0:
			head = fmt.Sprintf("From: Billing <billing@power.example>\r\nSubject: Invoice #%d for November\r\n", 4100+i)
		case 1:
			head = "From: Go Nuts <golang-nuts@googlegroups.example>\r\nList-Id: <golang-nuts.googlegroups.example>\r\n" +
				fmt.Sprintf("Subject: [go-nuts] generics question %d\r\n", i)
		default:
			head = fmt.Sprintf("From: %s\r\nSubject: %s\r\n", people[i%len(people)], topics[i%len(topics)])
		}
		body := fmt.Sprintf("%sTo: bob.old@example.com\r\nDate: %s\r\nMessage-ID: <%d.inbox@example.com>\r\n\r\nMessage %d.\r\n",
			head, date.Format(time.RFC1123Z), i, i)
		msgs = append(msgs, rig.Message{Date: date, Body: []byte(body)})
	}
	rig.Append(t, c, "INBOX", msgs...)
	_ = c.Logout().Wait()
	return len(msgs)
}

// startProxy forwards connections to target, sending what the target says
// in 16 kB pieces 25 ms apart (at most about 640 kB/s per connection), so
// that the runs last long enough to see their progress.
func startProxy(t *testing.T, target string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go forward(ctx, c, target)
		}
	}()
	return l.Addr().String()
}

func forward(ctx context.Context, c net.Conn, target string) {
	defer c.Close()
	s, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer s.Close()
	go func() {
		<-ctx.Done()
		c.Close()
	}()
	go func() { _, _ = io.Copy(s, c); s.Close() }()
	buf := make([]byte, 16<<10)
	for {
		n, err := s.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
			time.Sleep(25 * time.Millisecond)
		}
		if err != nil {
			return
		}
	}
}
