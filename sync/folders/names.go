package folders

import (
	"strings"
	"unicode"
)

// Local names are built component by component. A remote component may
// hold anything the server allows; locally each one must stay a single
// component (RFC 3501 §5.1: the separator only separates levels), so:
//
//   - the local separator inside a component becomes a look-alike:
//     "/" → "∕" (U+2215), "." → "․" (U+2024), any other separator → "_";
//   - control characters and invalid UTF-8 become "_";
//   - leading and trailing white space is trimmed;
//   - a component left empty becomes "_", and "." and ".." become "․"
//     and "․․", which no file-system layout takes for a directory link.
//
// The rule is a function of the component alone, so it is deterministic;
// two remote names that end up equal are told apart by Map.

// safeComponent makes one remote component fit to be one local component.
func safeComponent(comp string, sep rune) string {
	comp = strings.ToValidUTF8(comp, "_")
	comp = strings.Map(func(r rune) rune {
		switch {
		case r == sep:
			return lookAlike(sep)
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			return '_'
		}
		return r
	}, comp)
	comp = strings.TrimFunc(comp, unicode.IsSpace)
	switch comp {
	case "":
		return "_"
	case ".", "..":
		return strings.Repeat("\u2024", len(comp))
	}
	return comp
}

func lookAlike(sep rune) rune {
	switch sep {
	case '/':
		return '\u2215'
	case '.':
		return '\u2024'
	}
	return '_'
}

// splitRemote splits a remote name on its delimiter. Empty components (a
// doubled or trailing delimiter) carry no level and are dropped.
func splitRemote(name string, delim rune) []string {
	if delim == 0 {
		return []string{name}
	}
	var comps []string
	for _, c := range strings.Split(name, string(delim)) {
		if c != "" {
			comps = append(comps, c)
		}
	}
	return comps
}
