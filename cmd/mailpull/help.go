package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
)

const helpHeader = `mailpull pulls mail from external IMAP accounts into a local Dovecot.

usage: mailpull [--config FILE] COMMAND [ARGS]

  --config FILE   configuration file (default /etc/mailpull/mailpull.toml,
                  or $MAILPULL_CONFIG)

commands:
`

const helpFooter = `
Run "mailpull help COMMAND" or "mailpull COMMAND --help" for one command.

exit codes: 0 done; 1 some messages failed; 64 usage; 67 local user unknown;
68 remote host not found; 69 service refused; 73 cannot store locally;
75 temporary failure; 77 authentication failed; 78 configuration error.
`

func printHelp(w io.Writer) {
	fmt.Fprint(w, helpHeader)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s %s\t%s\n", c.name, c.args, c.summary)
	}
	tw.Flush()
	fmt.Fprint(w, helpFooter)
}

func runHelp(ctx context.Context, e *env, args []string) error {
	fs := newFlags("help")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	args = fs.Args()
	switch len(args) {
	case 0:
		printHelp(e.stdout)
		return nil
	case 1:
		c, ok := lookup(args[0])
		if !ok {
			return usageErrorf("help: unknown command %q", args[0])
		}
		// A command prints its own flags when asked for --help.
		return c.run(ctx, e, []string{"--help"})
	}
	return usageErrorf("help: too many arguments")
}
