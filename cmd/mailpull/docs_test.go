package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated files in packaging/")

// The man page and the completion in packaging/ are what the help says now;
// go test ./cmd/mailpull -run Generated -update rewrites them.
func TestGeneratedDocsAreCurrent(t *testing.T) {
	for file, render := range map[string]func(*bytes.Buffer){
		"../../packaging/mailpull.1":               func(b *bytes.Buffer) { manPage(b) },
		"../../packaging/mailpull.bash-completion": func(b *bytes.Buffer) { completionBash(b) },
	} {
		var b bytes.Buffer
		render(&b)
		if *update {
			if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		have, err := os.ReadFile(file)
		if err != nil || !bytes.Equal(have, b.Bytes()) {
			t.Errorf("%s is stale: run go test ./cmd/mailpull -run Generated -update (%v)", file, err)
		}
	}
}

// Every command and flag of the help is in the man page.
func TestManPageHasEveryFlag(t *testing.T) {
	var b bytes.Buffer
	manPage(&b)
	for _, topic := range helpTopics() {
		if !strings.Contains(b.String(), ".SS "+topic+"\n") {
			t.Errorf("man page lacks %q", topic)
		}
		for _, f := range flagsOf(topic) {
			if !strings.Contains(b.String(), strings.TrimPrefix(f, "-")) {
				t.Errorf("man page lacks %s of %s", f, topic)
			}
		}
	}
	if len(flagsOf("task add")) < 20 {
		t.Errorf("task add has only %v", flagsOf("task add"))
	}
}

func TestCompletionIsValidBash(t *testing.T) {
	var b bytes.Buffer
	completionBash(&b)
	cmd := exec.Command("bash", "-n")
	cmd.Stdin = &b
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v: %s", err, out)
	}
}
