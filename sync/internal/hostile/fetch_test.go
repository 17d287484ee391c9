package hostile

import (
	"bufio"
	"strings"
	"testing"
)

func TestUIDLastMovesTheUIDAfterTheBody(t *testing.T) {
	in := "* 3 FETCH (UID 17 BODY[] {5}\r\nhello)\r\n"
	want := "* 3 FETCH (BODY[] {5}\r\nhello UID 17)\r\n"
	if got := string(UIDLast([]byte(in))); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	f, ok := ParseFetch([]byte(in))
	if !ok || f.Seq != 3 || f.UID != 17 || !f.Body || in[f.Literal:f.Literal+5] != "hello" {
		t.Fatalf("parse: %+v %v", f, ok)
	}
	if f, _ := ParseFetch([]byte(want)); f.UID != 0 {
		t.Fatalf("a UID after the literal was read as the head's: %+v", f)
	}
}

func TestReadResponseTakesLiterals(t *testing.T) {
	br := bufio.NewReader(strings.NewReader("* 1 FETCH (BODY[] {3}\r\na\r\n UID 1)\r\nT1 OK done\r\n"))
	first, err := ReadResponse(br)
	if err != nil || string(first) != "* 1 FETCH (BODY[] {3}\r\na\r\n UID 1)\r\n" {
		t.Fatalf("%q %v", first, err)
	}
	if second, _ := ReadResponse(br); string(second) != "T1 OK done\r\n" {
		t.Fatalf("%q", second)
	}
}
