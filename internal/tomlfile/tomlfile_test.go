package tomlfile

import (
	"errors"
	"testing"
)

type doc struct {
	Name    string `toml:"name"`
	Port    int    `toml:"port"`
	Section struct {
		Addr string `toml:"addr"`
	} `toml:"section"`
}

func TestDecodeListsEveryUnknownKey(t *testing.T) {
	data := []byte("name = \"x\"\ncolour = 1\n[section]\naddr = \"a\"\nzone = 2\n")
	var d doc
	errs := Split(Decode("f.toml", data, &d))
	want := []string{`f.toml:2: unknown key "colour"`, `f.toml:5: unknown key "section.zone"`}
	if len(errs) != len(want) {
		t.Fatalf("errors %v, want %v", errs, want)
	}
	for i := range want {
		if errs[i].Error() != want[i] {
			t.Errorf("error %d: %q, want %q", i, errs[i], want[i])
		}
	}
}

func TestDecodeTypeErrorHasLine(t *testing.T) {
	var d doc
	err := Decode("f.toml", []byte("name = \"x\"\n\nport = \"80\"\n"), &d)
	var fe *Error
	if !errors.As(err, &fe) || fe.Line != 3 {
		t.Fatalf("error %v, want one at line 3", err)
	}
}

func TestLocate(t *testing.T) {
	data := []byte("# c\nname = \"x\"\n[section]\n  addr = \"a\"\n")
	err := Locate("f.toml", data, errors.Join(
		&KeyError{Key: "section.addr", Err: errors.New("bad")},
		&KeyError{Key: "name", Err: errors.New("worse")},
		errors.New("no key")))
	errs := Split(err)
	want := []string{"f.toml:4: section.addr: bad", "f.toml:2: name: worse", "f.toml: no key"}
	for i := range want {
		if i >= len(errs) || errs[i].Error() != want[i] {
			t.Fatalf("errors %v, want %v", errs, want)
		}
	}
}
