package testhost

import (
	"slices"
	"testing"
)

func TestSources(t *testing.T) {
	tests := []struct {
		name, data string
		deb822     bool
		want       []string
	}{
		// one-line sources.list
		{"plain", "deb http://deb.debian.org/debian bookworm main contrib\n", false,
			[]string{"deb http://deb.debian.org/debian bookworm main contrib"}},
		{"options and comments", "# mirror\ndeb [arch=amd64 signed-by=/k.gpg] http://m/debian bookworm-updates main # x\ndeb-src http://m/debian bookworm main\n", false,
			[]string{"deb [arch=amd64 signed-by=/k.gpg] http://m/debian bookworm-updates main"}},
		{"other release", "deb http://m/debian trixie main\n", false, nil},
		// deb822 .sources
		{"deb822", "Types: deb\n# snapshot\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb\nURIs: http://x/debian-security\nSuites: bookworm-security\nComponents: main\n", true,
			[]string{
				"deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main",
				"deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-updates main",
				"deb http://x/debian-security bookworm-security main",
			}},
		{"deb822 disabled and inline key", "Types: deb\nURIs: http://a/\nSuites: bookworm\nComponents: main\nEnabled: no\n\nTypes: deb deb-src\nURIs: http://b/\nSuites: bookworm\nComponents: main\nSigned-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n", true,
			[]string{"deb http://b/ bookworm main"}},
	}
	for _, tt := range tests {
		parse := oneLineSources
		if tt.deb822 {
			parse = deb822Sources
		}
		if got := parse(tt.data); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestCheckOptions(t *testing.T) {
	tests := []struct {
		name, base string
		mask       []string
		ok         bool
	}{
		{"th-1-2", "/var/tmp/b", []string{"mailpull-sync@a\\x2db.service"}, true},
		{"Bad_Name", "/var/tmp/b", nil, false},
		{"ok", "relative", nil, false},
		{"ok", "/a,upperdir=/x", nil, false},
		{"ok", "/b", []string{"../../etc/passwd"}, false},
		{"ok", "/b", []string{"a b"}, false},
	}
	for _, tt := range tests {
		if err := checkOptions(tt.name, tt.base, tt.mask); (err == nil) != tt.ok {
			t.Errorf("checkOptions(%q, %q, %q) = %v, want ok=%v", tt.name, tt.base, tt.mask, err, tt.ok)
		}
	}
}
