package folders

import (
	"fmt"
	"regexp"

	"github.com/mailpull/mailpull/task"
)

// Options are the task's folder choices, ready for Map.
type Options struct {
	Mode     string           // task.FoldersInbox, FoldersAll or FoldersAllExcept
	Exclude  []*regexp.Regexp // all-except: matched against the remote name
	Provider string           // task.ProviderIMAP, ProviderGmail, ...

	Junk      bool // copy the junk folder
	Trash     bool // copy the trash folder
	Important bool // copy the important view (Gmail)
	Archives  bool // copy the archive and the all-mail view

	Names Names // local names of the role folders; empty fields take defaults
}

// Names are the local names of the role folders. A name may hold the local
// separator to place the folder below another one.
type Names struct {
	Sent, Drafts, Trash, Junk, Archive, Important string
}

// DefaultNames are the names Dovecot's stock configuration gives its
// special-use folders.
var DefaultNames = Names{
	Sent: "Sent", Drafts: "Drafts", Trash: "Trash", Junk: "Junk",
	Archive: "Archive", Important: "Important",
}

// NewOptions takes the folder choices of a task. Task validation rejects a
// bad expression first; the error here names it too.
func NewOptions(t task.Task) (Options, error) {
	o := Options{
		Mode: t.Folders, Provider: t.Provider,
		Junk: t.Junk, Trash: t.Trash, Important: t.Important, Archives: t.Archives,
		Names: DefaultNames,
	}
	if t.Folders != task.FoldersAllExcept {
		return o, nil
	}
	for _, expr := range t.Exclude {
		re, err := regexp.Compile(expr)
		if err != nil {
			return Options{}, fmt.Errorf("folder exclusion %q: %w", expr, err)
		}
		o.Exclude = append(o.Exclude, re)
	}
	return o, nil
}

// name is the local name of a role, or "" when the role has none.
func (n Names) name(r Role) string {
	pick := func(set, def string) string {
		if set != "" {
			return set
		}
		return def
	}
	switch r {
	case RoleSent:
		return pick(n.Sent, DefaultNames.Sent)
	case RoleDrafts:
		return pick(n.Drafts, DefaultNames.Drafts)
	case RoleTrash:
		return pick(n.Trash, DefaultNames.Trash)
	case RoleJunk:
		return pick(n.Junk, DefaultNames.Junk)
	case RoleArchive, RoleAll:
		return pick(n.Archive, DefaultNames.Archive)
	case RoleImportant:
		return pick(n.Important, DefaultNames.Important)
	}
	return ""
}
