package task

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/mailpull/mailpull/internal/tomlfile"
)

// parseRow builds the task of one row; an empty optional cell keeps the
// default.
func parseRow(line int, cols map[string]int, rec []string) CSVRow {
	row := CSVRow{Line: line, Task: New()}
	raw := func(c string) string {
		if i, ok := cols[c]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	cell := func(c string) string { return strings.TrimSpace(raw(c)) }
	var errs []error
	bad := func(c string, err error) { errs = append(errs, fmt.Errorf("%s: %w", c, err)) }
	missing := map[string]bool{} // task keys already reported as missing
	for _, c := range requiredColumns[:5] {
		if raw(c) == "" || (c != "remotepassword" && cell(c) == "") {
			bad(c, errors.New("missing value"))
			missing[columnKey[c]] = true
		}
	}
	t := &row.Task
	t.LocalUser, t.RemoteUser, t.Host = cell("localusername"), cell("remoteusername"), cell("remotehostname")
	row.Password = []byte(raw("remotepassword")) // as typed: spaces may belong to it
	if sec, ok := nsSecurity[cell("security")]; ok {
		t.Security = sec
	} else {
		bad("security", fmt.Errorf("%q is not ssl, tls (STARTTLS), starttls, none or empty", cell("security")))
	}
	if p := cell("remoteport"); p != "" {
		if n, err := strconv.Atoi(p); err != nil {
			bad("remoteport", fmt.Errorf("%q is not a number", p))
		} else {
			t.Port = n
		}
	}
	errs = append(errs, applyOptional(t, cell)...)
	row.Err = errors.Join(append(errs, validateRow(*t, missing)...)...)
	return row
}

// nsSecurity maps NethServer's security values, and mailpull's own.
var nsSecurity = map[string]string{
	"": SecurityNone, "none": SecurityNone, "ssl": SecuritySSL, "tls": SecurityStartTLS, "starttls": SecurityStartTLS,
}

func applyOptional(t *Task, cell func(string) string) []error {
	keys := make([]string, 0, len(optional))
	for k := range optional {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		if v := cell(k); v != "" {
			if err := optional[k](t, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", k, err))
			}
		}
	}
	return errs
}

// columnKey is the task-file key of a required column.
var columnKey = map[string]string{"localusername": "local_user", "remoteusername": "remote_user",
	"remotepassword": "", "remotehostname": "host", "remoteport": "port"}

// validateRow runs the task's validation, leaving out the fields already
// reported as missing; the id is checked only if the row gave one, since
// the import makes the others.
func validateRow(t Task, missing map[string]bool) []error {
	if t.ID == "" {
		t.ID = "aaaaaa"
	}
	var out []error
	for _, e := range tomlfile.Split(t.Validate()) {
		var ke *tomlfile.KeyError
		if errors.As(e, &ke) && missing[ke.Key] {
			continue
		}
		out = append(out, e)
	}
	return out
}
