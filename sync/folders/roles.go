package folders

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/mailpull/mailpull/task"
)

// Role is what a folder is for, from its RFC 6154 special-use attribute or
// from the provider preset.
type Role string

// The roles. RoleAll, RoleFlagged and RoleImportant are views (RFC 6154
// §2): their messages live in other folders as well.
const (
	RoleNone      Role = ""
	RoleInbox     Role = "inbox"
	RoleSent      Role = "sent"
	RoleDrafts    Role = "drafts"
	RoleTrash     Role = "trash"
	RoleJunk      Role = "junk"
	RoleArchive   Role = "archive"
	RoleAll       Role = "all"
	RoleFlagged   Role = "flagged"
	RoleImportant Role = "important"
	RoleChat      Role = "chat"      // Gmail's chat log, not mail
	roleContainer Role = "container" // Gmail's [Gmail] folder, dissolved
)

// attrRoles maps special-use attributes to roles, in order of precedence
// for the rare folder with several.
var attrRoles = []struct {
	attr imap.MailboxAttr
	role Role
}{
	{imap.MailboxAttrSent, RoleSent},
	{imap.MailboxAttrDrafts, RoleDrafts},
	{imap.MailboxAttrTrash, RoleTrash},
	{imap.MailboxAttrJunk, RoleJunk},
	{imap.MailboxAttrArchive, RoleArchive},
	{imap.MailboxAttrAll, RoleAll},
	{imap.MailboxAttrImportant, RoleImportant},
	{imap.MailboxAttrFlagged, RoleFlagged},
}

// Provider presets: folder names, lower case, that providers use for their
// role folders without always saying so with attributes.
var (
	gmailRoles = map[string]Role{
		"sent mail": RoleSent, "drafts": RoleDrafts, "bin": RoleTrash,
		"trash": RoleTrash, "spam": RoleJunk, "all mail": RoleAll,
		"important": RoleImportant, "starred": RoleFlagged, "chat": RoleChat,
	}
	outlookRoles = map[string]Role{
		"sent items": RoleSent, "drafts": RoleDrafts, "deleted items": RoleTrash,
		"junk email": RoleJunk, "archive": RoleArchive,
	}
	yahooRoles = map[string]Role{
		"sent": RoleSent, "draft": RoleDrafts, "trash": RoleTrash,
		"bulk": RoleJunk, "bulk mail": RoleJunk, "archive": RoleArchive,
	}
)

// isGmailContainer tells Gmail's top folder in both spellings; the
// German and British interfaces call it [Google Mail].
func isGmailContainer(comp string) bool {
	return strings.EqualFold(comp, "[Gmail]") || strings.EqualFold(comp, "[Google Mail]")
}

// roleOf classifies a folder by its components (the personal prefix
// removed). Attributes win over the preset: they are the server's word.
func roleOf(r Remote, comps []string, provider string) Role {
	if strings.EqualFold(r.Name, "INBOX") {
		return RoleInbox
	}
	for _, ar := range attrRoles {
		if r.Has(ar.attr) {
			return ar.role
		}
	}
	return presetRole(comps, provider)
}

func presetRole(comps []string, provider string) Role {
	switch {
	case provider == task.ProviderGmail && len(comps) >= 1 && isGmailContainer(comps[0]):
		if len(comps) == 1 {
			return roleContainer
		}
		if len(comps) == 2 {
			return gmailRoles[strings.ToLower(comps[1])]
		}
	case provider == task.ProviderOutlook && len(comps) == 1:
		return outlookRoles[strings.ToLower(comps[0])]
	case provider == task.ProviderYahoo && len(comps) == 1:
		return yahooRoles[strings.ToLower(comps[0])]
	}
	return RoleNone
}

// roleSkip says why a folder of role r is not copied, or "" when it is.
func roleSkip(r Role, o Options) string {
	switch {
	case r == RoleJunk && !o.Junk:
		return "junk folder, junk is off"
	case r == RoleTrash && !o.Trash:
		return "trash folder, trash is off"
	case r == RoleArchive && !o.Archives:
		return "archive, archives is off"
	case r == RoleAll && !o.Archives:
		return "all-mail view, archives is off"
	case r == RoleImportant && !o.Important:
		return "important view, important is off"
	case r == RoleFlagged:
		return "starred view, its messages are in other folders"
	case r == RoleChat:
		return "chat log, not mail"
	}
	return ""
}
