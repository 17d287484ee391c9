package task

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// CSVRow is one task of a bulk import, with the line it came from.
type CSVRow struct {
	Line     int
	Task     Task
	Password []byte
	Err      error // every problem of the row, joined; nil if it is valid
}

// requiredColumns are NethServer's import-csv-tasks columns; security may
// be empty there, meaning none.
var requiredColumns = []string{"localusername", "remoteusername", "remotepassword", "remotehostname", "remoteport", "security"}

// ParseCSV reads a bulk import: a header row naming the columns in any
// order, then one task per row. Besides NethServer's six columns, any key of
// the task file may be a column (folders, schedule, exclude with patterns
// separated by ";", ...). Empty lines are skipped. A bad header is an error;
// a bad row is reported in its CSVRow, so that every row can be checked.
func ParseCSV(r io.Reader) ([]CSVRow, error) {
	cr, err := newCSVReader(r)
	if err != nil {
		return nil, err
	}
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("csv header: %w", err)
	}
	cols, err := columns(header)
	if err != nil {
		return nil, err
	}
	var rows []CSVRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return rows, fmt.Errorf("csv: %w", err) // a csv.ParseError names its line
		}
		line, _ := cr.FieldPos(0)
		rows = append(rows, parseRow(line, cols, rec))
	}
}

// newCSVReader takes "," or, as NethServer also accepts, ";" when the
// header has semicolons and no commas.
func newCSVReader(r io.Reader) (*csv.Reader, error) {
	data, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return nil, err
	}
	head, _, _ := strings.Cut(string(data), "\n")
	cr := csv.NewReader(strings.NewReader(string(data)))
	if strings.Contains(head, ";") && !strings.Contains(head, ",") {
		cr.Comma = ';'
	}
	cr.FieldsPerRecord = -1
	return cr, nil
}

func columns(header []string) (map[string]int, error) {
	cols := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := cols[h]; dup {
			return nil, fmt.Errorf("csv header: column %q twice", h)
		}
		if !knownColumn(h) {
			return nil, fmt.Errorf("csv header: unknown column %q", h)
		}
		cols[h] = i
	}
	var missing []string
	for _, c := range requiredColumns {
		if _, ok := cols[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("csv header: missing required columns: %s", strings.Join(missing, ", "))
	}
	return cols, nil
}

func knownColumn(c string) bool {
	for _, r := range requiredColumns {
		if c == r {
			return true
		}
	}
	_, ok := optional[c]
	return ok
}

// optional are the task fields a column may set, by task-file key.
var optional = map[string]func(t *Task, v string) error{
	"id":              func(t *Task, v string) error { t.ID = v; return nil },
	"provider":        func(t *Task, v string) error { t.Provider = v; return nil },
	"folders":         func(t *Task, v string) error { t.Folders = v; return nil },
	"exclude":         func(t *Task, v string) error { t.Exclude = splitList(v); return nil },
	"schedule":        func(t *Task, v string) error { t.Schedule = v; return nil },
	"first_run":       func(t *Task, v string) error { t.FirstRun = v; return nil },
	"delete_remote":   func(t *Task, v string) error { t.DeleteRemote = v; return nil },
	"tls_ca":          func(t *Task, v string) error { t.TLSCA = v; return nil },
	"tls_fingerprint": func(t *Task, v string) error { t.TLSFingerprint = v; return nil },
	"retention_days":  intField(func(t *Task) *int { return &t.RetentionDays }),
	"max_messages":    intField(func(t *Task) *int { return &t.MaxMessages }),
	"sieve":           boolField(func(t *Task) *bool { return &t.Sieve }),
	"delete_local":    boolField(func(t *Task) *bool { return &t.DeleteLocal }),
	"tls_insecure":    boolField(func(t *Task) *bool { return &t.TLSInsecure }),
	"junk":            boolField(func(t *Task) *bool { return &t.Junk }),
	"trash":           boolField(func(t *Task) *bool { return &t.Trash }),
	"important":       boolField(func(t *Task) *bool { return &t.Important }),
	"archives":        boolField(func(t *Task) *bool { return &t.Archives }),
}

func intField(p func(*Task) *int) func(*Task, string) error {
	return func(t *Task, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a number", v)
		}
		*p(t) = n
		return nil
	}
}

func boolField(p func(*Task) *bool) func(*Task, string) error {
	return func(t *Task, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*p(t) = b
		return nil
	}
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ";") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
