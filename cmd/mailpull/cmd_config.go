package main

import (
	"context"
	"fmt"
)

func runConfig(ctx context.Context, e *env, args []string) error {
	fs := newFlags("config")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || fs.Arg(0) != "check" {
		return usageErrorf("config: want \"config check\"")
	}
	_, file, err := e.config()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: ok\n", file)
	return nil
}
