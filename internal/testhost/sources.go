package testhost

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// hostMirrors returns the host's apt sources for Suite, as one-line entries
// for mmdebstrap: on the build machines the archive is reachable only
// through the mirrors apt is configured with.
func hostMirrors() ([]string, error) {
	files := []string{"/etc/apt/sources.list"}
	for _, pat := range []string{"*.list", "*.sources"} {
		m, _ := filepath.Glob(filepath.Join("/etc/apt/sources.list.d", pat))
		files = append(files, m...)
	}
	var lines []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("apt sources: %w", err)
		}
		if strings.HasSuffix(f, ".sources") {
			lines = append(lines, deb822Sources(string(data))...)
		} else {
			lines = append(lines, oneLineSources(string(data))...)
		}
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("apt sources: no 'deb' entry for %s in %s", Suite, strings.Join(files, ", "))
	}
	return lines, nil
}

// oneLineSources keeps the "deb [options] URI SUITE COMPONENT..." lines of
// a sources.list whose suite belongs to Suite.
func oneLineSources(data string) []string {
	var out []string
	for _, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(strings.SplitN(line, "#", 2)[0])
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "deb" {
			continue
		}
		i := 1
		if strings.HasPrefix(f[1], "[") { // options run up to the word ending in ]
			for i < len(f) && !strings.HasSuffix(f[i], "]") {
				i++
			}
			i++
		}
		if i+1 < len(f) && ourSuite(f[i+1]) {
			out = append(out, strings.Join(f, " "))
		}
	}
	return out
}

// deb822Sources turns the stanzas of a .sources file into one-line entries,
// one per URI and suite of Suite.
func deb822Sources(data string) []string {
	var out []string
	for _, stanza := range strings.Split(data, "\n\n") {
		s := deb822Fields(stanza)
		if !strings.Contains(" "+s["types"]+" ", " deb ") || strings.EqualFold(s["enabled"], "no") {
			continue
		}
		opt := ""
		if k := s["signed-by"]; strings.HasPrefix(k, "/") && !strings.Contains(k, " ") {
			opt = "[signed-by=" + k + "] "
		}
		for _, uri := range strings.Fields(s["uris"]) {
			for _, suite := range strings.Fields(s["suites"]) {
				if ourSuite(suite) {
					out = append(out, "deb "+opt+uri+" "+suite+" "+s["components"])
				}
			}
		}
	}
	return out
}

// deb822Fields parses one stanza; continuation lines (an inline key) are
// appended to their field.
func deb822Fields(stanza string) map[string]string {
	fields := map[string]string{}
	key := ""
	for _, line := range strings.Split(stanza, "\n") {
		switch {
		case strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t"):
			if key != "" {
				fields[key] += " " + strings.TrimSpace(line)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if ok {
				key = strings.ToLower(strings.TrimSpace(k))
				fields[key] = strings.TrimSpace(v)
			}
		}
	}
	return fields
}

// ourSuite: bookworm, bookworm-updates, bookworm-security and the like.
func ourSuite(s string) bool {
	return s == Suite || strings.HasPrefix(s, Suite+"-") || strings.HasPrefix(s, Suite+"/")
}
