package task

import (
	"strings"
	"testing"

	"github.com/mailpull/mailpull/internal/tomlfile"
)

// The example of NethServer's import-csv-tasks, as its README gives it.
const nsExample = `localusername,remoteusername,remotepassword,remotehostname,remoteport,security
pansy.dumbledore5,user1@example.org,"enquotedPasswordIfSeparatorInside",imap.example.org,993,ssl
lavender.umbridge7,user2@example.org,"enquotedPasswordIfSeparatorInside",imap.example.org,993,ssl
dolores.slughorn3,user3@example.org,"enquotedPasswordIfSeparatorInside",imap.example.org,143,tls
`

func TestParseCSVNethServerExample(t *testing.T) {
	rows, err := ParseCSV(strings.NewReader(nsExample))
	if err != nil || len(rows) != 3 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	for _, r := range rows {
		if r.Err != nil {
			t.Errorf("line %d: %v", r.Line, r.Err)
		}
	}
	last := rows[2]
	if last.Line != 4 || last.Task.Security != SecurityStartTLS || last.Task.Port != 143 || last.Task.LocalUser != "dolores.slughorn3" ||
		string(last.Password) != "enquotedPasswordIfSeparatorInside" || last.Task.Folders != FoldersAll {
		t.Errorf("row: %+v", last)
	}
}

func TestParseCSVAnyOrderSemicolonsQuotesOptional(t *testing.T) {
	doc := "security;remoteport;remotehostname;localusername;remoteusername;remotepassword;folders;exclude;schedule;junk\n" +
		"\n" +
		";143;mail.example.org;alice;a@example.org;\"p;w,\"\"x\";all-except;\"^Spam;^Trash$\";2h;true\n"
	rows, err := ParseCSV(strings.NewReader(doc))
	if err != nil || len(rows) != 1 || rows[0].Err != nil {
		t.Fatalf("rows %+v, %v", rows, err)
	}
	r := rows[0]
	if r.Line != 3 || r.Task.Security != SecurityNone || string(r.Password) != `p;w,"x` || len(r.Task.Exclude) != 2 ||
		r.Task.Schedule != "2h" || !r.Task.Junk {
		t.Errorf("row: %+v password %q", r, r.Password)
	}
}

func TestParseCSVRowProblems(t *testing.T) {
	doc := "localusername,remoteusername,remotepassword,remotehostname,remoteport,security\n" +
		"alice,a@example.org,pw,imap.example.org,99999,ssl\n" + // line 2: bad port
		"bob,b@example.org,pw,imap.example.org,abc,ssl\n" + // line 3: not a number
		"carol,c@example.org,,imap.example.org,993,ssl\n" + // line 4: empty password
		"dave,d@example.org,pw,imap.example.org,993,tls13\n" + // line 5: bad security
		",,pw,,993,ssl\n" + // line 6: three missing values
		"erin,e@example.org,pw,imap.example.org,993,ssl\n" // line 7: fine
	rows, err := ParseCSV(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := map[int][]string{2: {"port: 99999"}, 3: {"remoteport: \"abc\""}, 4: {"remotepassword: missing value"},
		5: {"security: \"tls13\""}, 6: {"localusername: missing", "remoteusername: missing", "remotehostname: missing"}}
	for _, r := range rows {
		got := ""
		if r.Err != nil {
			got = r.Err.Error()
		}
		for _, w := range want[r.Line] {
			if !strings.Contains(got, w) {
				t.Errorf("line %d: %q lacks %q", r.Line, got, w)
			}
		}
		if len(want[r.Line]) == 0 && r.Err != nil {
			t.Errorf("line %d: unexpected %v", r.Line, r.Err)
		}
		if r.Line == 6 && len(tomlfile.Split(r.Err)) != 3 {
			t.Errorf("line 6: %d problems, want 3: %v", len(tomlfile.Split(r.Err)), r.Err)
		}
	}
}

func TestParseCSVHeaderProblems(t *testing.T) {
	for doc, want := range map[string]string{
		"localusername,remoteusername,remotehostname,remoteport,security\n":                       "missing required columns: remotepassword",
		"localusername,remoteusername,remotepassword,remotehostname,remoteport,security,colour\n": `unknown column "colour"`,
		"": "csv header",
	} {
		if _, err := ParseCSV(strings.NewReader(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", doc, err, want)
		}
	}
}

func FuzzParseCSV(f *testing.F) {
	f.Add(nsExample)
	f.Add("security;remoteport;remotehostname;localusername;remoteusername;remotepassword\n;1;h;u;r;\"p\"\n")
	f.Fuzz(func(t *testing.T, doc string) {
		rows, _ := ParseCSV(strings.NewReader(doc))
		for _, r := range rows {
			if r.Err == nil {
				tk := r.Task
				tk.ID = "aaaaaa"
				if err := tk.Validate(); err != nil {
					t.Fatalf("row accepted but invalid: %v", err)
				}
			}
		}
	})
}
