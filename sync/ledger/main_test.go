package ledger

import (
	"fmt"
	"os"
	"testing"
)

// TestMain runs the test binary as one of the helper processes the
// multi-process tests start, when they ask for it through the environment.
func TestMain(m *testing.M) {
	var err error
	switch {
	case os.Getenv("LEDGER_HELPER_COPY") != "":
		err = helperCopy(os.Getenv("LEDGER_HELPER_COPY"))
	case os.Getenv("LEDGER_HELPER_OPEN") != "":
		err = helperOpen(os.Getenv("LEDGER_HELPER_OPEN"))
	default:
		os.Exit(m.Run())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}
