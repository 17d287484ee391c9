package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// The man page and the shell completion are made from the help the commands
// print, so that they cannot say something else; a test fails when the
// committed copies in packaging/ are stale.

// helpOf returns what "mailpull NAME --help" prints.
func helpOf(name string) string {
	var out bytes.Buffer
	e := &env{stdout: &out, stderr: io.Discard, stdin: strings.NewReader("")}
	run(context.Background(), e, append(strings.Fields(name), "--help"))
	return out.String()
}

// helpTopics are the commands, and the task subcommands, in help order.
func helpTopics() []string {
	var out []string
	for _, c := range commands() {
		if c.name == "task" {
			for _, sub := range []string{"add", "edit", "rm", "list", "show"} {
				out = append(out, "task "+sub)
			}
			continue
		}
		out = append(out, c.name)
	}
	return out
}

const manHeader = `.TH MAILPULL 1 "" "mailpull" "User Commands"
.SH NAME
mailpull \- pull mail from external IMAP accounts into a local Dovecot
.SH SYNOPSIS
.B mailpull
[\fB\-\-config\fR \fIFILE\fR] \fICOMMAND\fR [\fIARGS\fR]
.SH DESCRIPTION
mailpull copies remote IMAP accounts (Gmail, Outlook, Yahoo, any IMAP server)
into the mailboxes of a local Dovecot server, logged in as a master user, one
sync task per remote account. A task copies all folders (or all but some), or
delivers the remote INBOX through LMTP so that Sieve filters run.
.PP
The configuration file is \fI/etc/mailpull/mailpull.toml\fR, or the file
named by \fB\-\-config\fR or \fBMAILPULL_CONFIG\fR.
.SH COMMANDS
`

const manFooter = `.SH EXIT STATUS
.TP
.B 0
done, everything copied
.TP
.B 1
done, some messages failed (listed): re-run
.TP
.B 64
usage error: fix the command
.TP
.B 67
local user unknown or disabled
.TP
.B 68
remote host not found
.TP
.B 69
a server refused service: retry later
.TP
.B 73
cannot store locally (quota, mailbox limit)
.TP
.B 75
temporary failure (network, timeout, throttled): retry later
.TP
.B 77
authentication failed (remote password, master password, certificate)
.TP
.B 78
configuration error (config file, task file)
.SH FILES
.TP
.I /etc/mailpull/mailpull.toml
configuration
.TP
.I /etc/mailpull/tasks/ID.toml
one file per task, root-only
.TP
.I /etc/mailpull/credentials/
passwords, encrypted with systemd-creds
.TP
.I /var/lib/mailpull/ID.db
each task's ledger of copied messages
.SH ENVIRONMENT
.TP
.B MAILPULL_CONFIG
the configuration file, when \fB\-\-config\fR is not given
.SH SEE ALSO
.BR systemd-creds (1),
.BR doveadm (1)
`

// manPage renders mailpull(1).
func manPage(w io.Writer) {
	io.WriteString(w, manHeader)
	for _, topic := range helpTopics() {
		usage, body := splitHelp(helpOf(topic))
		fmt.Fprintf(w, ".SS %s\n.nf\n%s\n.fi\n", roff(topic), roff(usage))
		if body != "" {
			fmt.Fprintf(w, ".nf\n%s\n.fi\n", roff(body))
		}
	}
	io.WriteString(w, manFooter)
}

// splitHelp separates a command's usage lines from the rest.
func splitHelp(h string) (usage, body string) {
	usage, body, _ = strings.Cut(strings.TrimSpace(h), "\n\n")
	return usage, strings.TrimSpace(body)
}

// roff escapes text for a .nf block: backslashes, and a leading dot or
// quote that would read as a request.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return strings.Join(lines, "\n")
}

var flagRe = regexp.MustCompile(`(?m)^\s+-(-?[a-z][a-z0-9-]*)`)

// flagsOf lists the flags a command's help shows, as --name.
func flagsOf(topic string) []string {
	var out []string
	for _, m := range flagRe.FindAllStringSubmatch(helpOf(topic), -1) {
		out = append(out, "--"+strings.TrimPrefix(m[1], "-"))
	}
	sort.Strings(out)
	return out
}

// completionBash renders the bash completion script.
func completionBash(w io.Writer) {
	var cmds []string
	for _, c := range commands() {
		cmds = append(cmds, c.name)
	}
	io.WriteString(w, "# bash completion for mailpull; generated from its help, do not edit.\n_mailpull() {\n")
	io.WriteString(w, "\tlocal cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]} sub=${COMP_WORDS[2]}\n")
	fmt.Fprintf(w, "\tif [ \"$COMP_CWORD\" -eq 1 ]; then COMPREPLY=($(compgen -W %q -- \"$cur\")); return; fi\n", strings.Join(cmds, " ")+" --config")
	io.WriteString(w, "\tcase \"$cmd $sub\" in\n")
	for _, topic := range helpTopics() {
		pattern := fmt.Sprintf("%q", topic) // "task add": the subcommand is the second word
		if !strings.Contains(topic, " ") {
			pattern = fmt.Sprintf("%q*", topic+" ")
		}
		fmt.Fprintf(w, "\t%s) COMPREPLY=($(compgen -W %q -- \"$cur\")) ;;\n", pattern, strings.Join(flagsOf(topic), " "))
	}
	io.WriteString(w, "\t\"task \"*) COMPREPLY=($(compgen -W \"add edit rm list show\" -- \"$cur\")) ;;\n")
	io.WriteString(w, "\tesac\n}\ncomplete -F _mailpull mailpull\n")
}
