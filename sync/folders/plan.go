package folders

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mailpull/mailpull/task"
)

// Plan is what Map decided for one account.
type Plan struct {
	// Folders are the remote folders to copy, in remote-name order.
	Folders []Mapping
	// Create lists the local folders to create, parents first: the mapped
	// folders and their parents, \Noselect ones on the remote included.
	// INBOX is never in it.
	Create []string
	// Skipped are the folders whose messages are not copied, with a reason.
	Skipped []Skip
}

// Mapping pairs a remote folder with its local name.
type Mapping struct {
	Remote Remote
	Local  string // UTF-8; go-imap encodes it for the local server
	Role   Role
}

// Skip is a folder left out, and why.
type Skip struct {
	Remote string
	Reason string
}

// node is one level of the remote hierarchy: a listed folder, or a parent
// that the server implies but did not list.
type node struct {
	key    string // keyOf the remote components; unique
	comps  []string
	remote *Remote // nil for an implied parent
	role   Role
	skip   string   // why the folder is not copied
	prune  bool     // nor is anything below it (junk, chat…)
	local  []string // local components, once placed
	mapped bool     // messages are copied into local
}

// Map decides the local name of every remote folder, or why it is skipped.
// sep is the local hierarchy separator.
//
// Collisions: two folders share a local name only when both carry the same
// role (the special-use folder and its provider synonym, or several \Sent
// folders), or when at most one of them has messages to copy there (a
// \Noselect parent). Otherwise the folder placed later gets " (2)", " (3)"…
// on its last component. Role folders are placed first, then the rest by
// depth and remote name, so "Sent" of a Gmail label becomes "Sent (2)"
// beside the Sent that [Gmail]/Sent Mail fills, and "Foo " beside "Foo"
// becomes "Foo (2)". A renamed parent takes its children along.
//
// INBOX: the personal namespace prefix (Listing.Prefix, "INBOX." on
// Courier and Cyrus) is removed, because there INBOX's children are the
// account's top-level folders. Where the prefix is empty (Dovecot, Gmail),
// INBOX/Foo is a real child of INBOX and stays one.
func Map(l Listing, sep rune, o Options) Plan {
	var p Plan
	nodes := p.buildNodes(l, o)
	pl := placer{nodes: nodes, placed: map[string]*node{}, wants: siblingWants(nodes, sep), sep: sep, o: o}
	for _, n := range placeOrder(nodes) {
		pl.place(n)
	}
	for _, n := range nodes {
		if n.remote == nil {
			continue
		}
		if n.mapped {
			p.Folders = append(p.Folders, Mapping{Remote: *n.remote, Local: join(n.local, sep), Role: n.role})
		} else {
			p.Skipped = append(p.Skipped, Skip{Remote: n.remote.Name, Reason: n.skip})
		}
	}
	p.sort()
	p.Create = creates(p.Folders, sep)
	return p
}

// buildNodes makes a node per listed folder and per implied parent, and
// decides what each listed folder is and whether it is copied.
func (p *Plan) buildNodes(l Listing, o Options) map[string]*node {
	for _, raw := range l.Undecodable {
		p.Skipped = append(p.Skipped, Skip{Remote: raw, Reason: "name cannot be decoded"})
	}
	folders := slices.Clone(l.Folders)
	slices.SortStableFunc(folders, func(a, b Remote) int { return strings.Compare(a.Name, b.Name) })
	nodes := map[string]*node{}
	for i := range folders {
		r := &folders[i]
		comps, reason := remoteComps(*r, l)
		if reason != "" {
			p.Skipped = append(p.Skipped, Skip{Remote: r.Name, Reason: reason})
			continue
		}
		n := addNode(nodes, comps)
		n.remote = r
		n.classify(o)
	}
	prune(nodes)
	return nodes
}

// remoteComps splits a remote name into its components below the personal
// namespace, or says why the folder is not the account's own.
func remoteComps(r Remote, l Listing) ([]string, string) {
	name := r.Name
	if strings.EqualFold(name, "INBOX") {
		return []string{"INBOX"}, ""
	}
	for _, s := range l.Shared {
		if s != "" && hasPrefixFold(name, s) {
			return nil, "shared or other users' namespace"
		}
	}
	if l.Prefix != "" {
		if !hasPrefixFold(name, l.Prefix) {
			return nil, "outside the personal namespace " + fmt.Sprintf("%q", l.Prefix)
		}
		name = name[len(l.Prefix):]
	}
	comps := splitRemote(name, r.Delim)
	if len(comps) == 0 {
		return nil, "empty name"
	}
	if strings.EqualFold(comps[0], "INBOX") {
		comps[0] = "INBOX" // RFC 3501 §5.1: INBOX is case-insensitive
	}
	return comps, ""
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// addNode adds the node for comps and its implied parents. A listed folder
// that lands on the key of another listed one ("a//b" and "a/b") gets a
// key of its own; Map then gives it a distinct local name.
func addNode(nodes map[string]*node, comps []string) *node {
	for k := 1; k < len(comps); k++ {
		key := keyOf(comps[:k])
		if nodes[key] == nil {
			nodes[key] = &node{key: key, comps: comps[:k]}
		}
	}
	key := keyOf(comps)
	for i := 2; nodes[key] != nil && nodes[key].remote != nil; i++ {
		key = keyOf(comps) + fmt.Sprintf("\x00\x01%d", i)
	}
	if n := nodes[key]; n != nil {
		return n
	}
	nodes[key] = &node{key: key, comps: comps}
	return nodes[key]
}

// classify sets the role of a listed folder and whether it is copied.
func (n *node) classify(o Options) {
	n.role = roleOf(*n.remote, n.comps, o.Provider)
	switch {
	case o.Mode == task.FoldersInbox && n.role != RoleInbox:
		n.skip = "folders = inbox copies INBOX only"
	case n.role == roleContainer:
		n.skip = "Gmail's top folder; its folders go to the top level"
	case roleSkip(n.role, o) != "":
		n.skip, n.prune = roleSkip(n.role, o), true
	case !n.remote.Selectable():
		n.skip = "not selectable"
	case excluded(n.remote.Name, o) != "":
		n.skip = "excluded by " + excluded(n.remote.Name, o)
	default:
		n.mapped = true
	}
}

func excluded(name string, o Options) string {
	if o.Mode != task.FoldersAllExcept {
		return ""
	}
	for _, re := range o.Exclude {
		if re.MatchString(name) {
			return fmt.Sprintf("%q", re.String())
		}
	}
	return ""
}

// prune skips the folders below a folder whose role is not copied: the
// children of Junk are junk too.
func prune(nodes map[string]*node) {
	for _, n := range byDepth(nodes) {
		parent := nodes[parentKey(n)]
		if parent == nil || !parent.prune {
			continue
		}
		n.prune, n.mapped = true, false
		if n.remote != nil {
			n.skip = fmt.Sprintf("inside %s", parent.describe())
		}
	}
}

func (n *node) describe() string {
	if n.remote != nil {
		return fmt.Sprintf("%q (%s)", n.remote.Name, n.skip)
	}
	return fmt.Sprintf("%q (%s)", strings.Join(n.comps, "/"), n.skip)
}

// keyOf makes the key of a node; the root, "", is no node's key.
func keyOf(comps []string) string {
	return "\x00" + strings.Join(comps, "\x00")
}

var inboxKey = keyOf([]string{"INBOX"})

func parentKey(n *node) string {
	if len(n.comps) < 2 {
		return ""
	}
	return keyOf(n.comps[:len(n.comps)-1])
}

// byDepth orders nodes parents first, then by key, for determinism.
func byDepth(nodes map[string]*node) []*node {
	l := make([]*node, 0, len(nodes))
	for _, n := range nodes {
		l = append(l, n)
	}
	slices.SortFunc(l, func(a, b *node) int {
		if len(a.comps) != len(b.comps) {
			return len(a.comps) - len(b.comps)
		}
		return strings.Compare(a.key, b.key)
	})
	return l
}

// placeOrder is the order in which names are handed out: INBOX, then the
// mapped role folders, then the rest parents first. Pruned nodes get none.
func placeOrder(nodes map[string]*node) []*node {
	var first, roles, rest []*node
	for _, n := range byDepth(nodes) {
		switch {
		case n.prune:
		case n.key == inboxKey:
			first = append(first, n)
		case n.mapped && n.role != RoleNone:
			roles = append(roles, n)
		default:
			rest = append(rest, n)
		}
	}
	return slices.Concat(first, roles, rest)
}

// placer hands out local names.
type placer struct {
	nodes  map[string]*node
	placed map[string]*node           // local name → its folder
	wants  map[string]map[string]bool // parent key → wanted last components
	sep    rune
	o      Options
}

// place gives n its local components, renaming on a collision (see Map).
// A new name avoids what a sibling wants, so that a remote "Foo (2)" keeps
// its name when "Foo " needs one.
func (pl *placer) place(n *node) {
	want := n.wantPath(pl.nodes, pl.sep, pl.o)
	if len(want) == 0 {
		return // Gmail's container: its children go to the top level
	}
	base, last := want[len(want)-1], len(want)-1
	for i := 2; ; i++ {
		name := join(want, pl.sep)
		other := pl.placed[name]
		if (other == nil || mayShare(other, n)) && (i == 2 || !pl.wants[parentKey(n)][want[last]]) {
			if other == nil || n.mapped {
				pl.placed[name] = n
			}
			n.local = want
			return
		}
		want[last] = fmt.Sprintf("%s (%d)", base, i)
	}
}

// siblingWants collects, per parent, the local last components that its
// children would get without collisions.
func siblingWants(nodes map[string]*node, sep rune) map[string]map[string]bool {
	w := map[string]map[string]bool{}
	for _, n := range nodes {
		k := parentKey(n)
		if w[k] == nil {
			w[k] = map[string]bool{}
		}
		w[k][safeComponent(n.comps[len(n.comps)-1], sep)] = true
	}
	return w
}

// mayShare tells the intended merges: two folders of one role, or a
// folder with a parent that holds no messages of its own.
func mayShare(a, b *node) bool {
	if !a.mapped || !b.mapped {
		return true
	}
	return a.role == b.role && a.role != RoleNone
}

// wantPath is the local name n would get if nothing collided.
func (n *node) wantPath(nodes map[string]*node, sep rune, o Options) []string {
	switch {
	case n.key == inboxKey:
		return []string{"INBOX"}
	case n.role == roleContainer:
		return nil
	case n.mapped && o.Names.name(n.role) != "":
		return localComps(o.Names.name(n.role), sep)
	}
	var path []string
	if parent := nodes[parentKey(n)]; parent != nil {
		path = slices.Clone(parent.local)
	}
	return append(path, safeComponent(n.comps[len(n.comps)-1], sep))
}

// localComps splits a configured local name on the separator.
func localComps(name string, sep rune) []string {
	var comps []string
	for _, c := range strings.Split(name, string(sep)) {
		if c != "" {
			comps = append(comps, safeComponent(c, sep))
		}
	}
	return comps
}

func join(comps []string, sep rune) string {
	return strings.Join(comps, string(sep))
}

func (p *Plan) sort() {
	slices.SortFunc(p.Folders, func(a, b Mapping) int { return strings.Compare(a.Remote.Name, b.Remote.Name) })
	slices.SortStableFunc(p.Skipped, func(a, b Skip) int { return strings.Compare(a.Remote, b.Remote) })
}

// creates lists the local folders of the mapped ones and their parents,
// parents first; INBOX always exists.
func creates(folders []Mapping, sep rune) []string {
	seen := map[string]bool{"INBOX": true}
	var l [][]string
	for _, m := range folders {
		comps := strings.Split(m.Local, string(sep))
		for k := 1; k <= len(comps); k++ {
			if name := join(comps[:k], sep); !seen[name] {
				seen[name] = true
				l = append(l, comps[:k])
			}
		}
	}
	slices.SortFunc(l, func(a, b []string) int {
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return slices.Compare(a, b)
	})
	out := make([]string, len(l))
	for i, c := range l {
		out[i] = join(c, sep)
	}
	return out
}

// GuessPrefix guesses the personal namespace prefix of a server without
// NAMESPACE: "INBOX" and its delimiter when every other folder lies below
// INBOX, as on Courier and Cyrus; else "".
func GuessPrefix(folders []Remote) string {
	prefix := ""
	for _, r := range folders {
		if strings.EqualFold(r.Name, "INBOX") {
			continue
		}
		if r.Delim == 0 {
			return ""
		}
		p := "INBOX" + string(r.Delim)
		if !hasPrefixFold(r.Name, p) || (prefix != "" && prefix != p) {
			return ""
		}
		prefix = p
	}
	return prefix
}
