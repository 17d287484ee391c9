// Package task is the task model of mailpull: one remote account pulled into
// one local user. It validates tasks, makes their ids, parses schedules and
// keeps one human-readable file per task in the tasks directory. It knows
// nothing of IMAP or systemd; the remote password is a credential and never
// part of a task.
package task

import "strings"

// Task is one sync task. The TOML names are those of the task file.
type Task struct {
	ID        string `toml:"id" json:"id" comment:"Task id: six characters a-z 0-9; also the systemd instance name."`
	LocalUser string `toml:"local_user" json:"local_user" comment:"Local Dovecot user that receives the mail."`

	Provider       string `toml:"provider" json:"provider" comment:"Provider preset: imap, gmail, outlook or yahoo."`
	Host           string `toml:"host" json:"host" comment:"Remote IMAP server."`
	Port           int    `toml:"port" json:"port" comment:"Remote port (993 for ssl, 143 for starttls and none)."`
	Security       string `toml:"security" json:"security" comment:"Connection security: ssl, starttls or none."`
	TLSCA          string `toml:"tls_ca,omitempty" json:"tls_ca,omitempty" comment:"CA file that verifies the remote certificate, instead of the system's."`
	TLSInsecure    bool   `toml:"tls_insecure" json:"tls_insecure" comment:"true accepts any remote certificate (not recommended)."`
	TLSFingerprint string `toml:"tls_fingerprint,omitempty" json:"tls_fingerprint,omitempty" comment:"SHA-256 of the remote certificate, hex: accepted even if not trusted."`
	RemoteUser     string `toml:"remote_user" json:"remote_user" comment:"Login name on the remote server; the password is a credential, not here."`

	Folders     string   `toml:"folders" json:"folders" comment:"Folders: inbox (delivered locally, Sieve can run), all, or all-except."`
	Exclude     []string `toml:"exclude,omitempty" json:"exclude,omitempty" comment:"With all-except: regular expressions on remote folder names to leave out."`
	Sieve       bool     `toml:"sieve" json:"sieve" comment:"inbox mode: deliver through LMTP so that the user's Sieve filters run."`
	FirstRun    string   `toml:"first_run" json:"first_run" comment:"inbox mode, first run: unseen, all, or new (only what arrives from now on)."`
	MaxMessages int      `toml:"max_messages" json:"max_messages" comment:"Copy only the newest N messages per folder; 0 means all."`

	Junk      bool `toml:"junk" json:"junk" comment:"Copy the Junk/Spam folder."`
	Trash     bool `toml:"trash" json:"trash" comment:"Copy the Trash folder."`
	Important bool `toml:"important" json:"important" comment:"Gmail: copy the Important folder."`
	Archives  bool `toml:"archives" json:"archives" comment:"Copy the archive (Gmail: All Mail)."`

	DeleteRemote  string `toml:"delete_remote" json:"delete_remote" comment:"Delete on the remote after a confirmed copy: none, after-copy, or older-than."`
	RetentionDays int    `toml:"retention_days" json:"retention_days" comment:"With older-than: days a copied message is kept on the remote."`
	DeleteLocal   bool   `toml:"delete_local" json:"delete_local" comment:"Strict mirror: delete local messages that are gone from the remote."`

	Schedule string `toml:"schedule" json:"schedule" comment:"When the task runs: manual, every N minutes (5m) or hours (2h), or a systemd calendar expression."`
}

// Choices for the enumerated fields.
const (
	ProviderIMAP    = "imap"
	ProviderGmail   = "gmail"
	ProviderOutlook = "outlook"
	ProviderYahoo   = "yahoo"

	SecuritySSL      = "ssl"
	SecurityStartTLS = "starttls"
	SecurityNone     = "none"

	FoldersInbox     = "inbox"
	FoldersAll       = "all"
	FoldersAllExcept = "all-except"

	FirstRunUnseen = "unseen"
	FirstRunAll    = "all"
	FirstRunNew    = "new"

	DeleteNone      = "none"
	DeleteAfterCopy = "after-copy"
	DeleteOlderThan = "older-than"

	ScheduleManual = "manual"
)

// New returns a task with the defaults of the command-line contract.
func New() Task {
	return Task{
		Provider:     ProviderIMAP,
		Security:     SecuritySSL,
		Folders:      FoldersAll,
		FirstRun:     FirstRunUnseen,
		Trash:        true,
		Important:    true,
		Archives:     true,
		DeleteRemote: DeleteNone,
		Schedule:     ScheduleManual,
	}
}

// DefaultPort is the port that goes with a security mode.
func DefaultPort(security string) int {
	if security == SecuritySSL {
		return 993
	}
	return 143
}

// SameAccount reports whether two tasks pull the same remote account into the
// same local user, which a bulk import treats as the same task.
func (t Task) SameAccount(o Task) bool {
	return t.LocalUser == o.LocalUser && t.RemoteUser == o.RemoteUser && strings.EqualFold(t.Host, o.Host)
}
