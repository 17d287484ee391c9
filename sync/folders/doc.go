// Package folders lists the folders of a remote IMAP account and maps them
// to local folder names for the mirror modes (all, all-except) and the
// trivial inbox mode.
//
// List reads the remote hierarchy with its special-use attributes (RFC
// 6154) and namespace prefix (RFC 2342); Guard keeps a folder name that
// go-imap cannot decode from closing the connection. Map is a pure
// function from that listing and the task's choices to a Plan: which remote
// folder goes to which local name, which local folders to create, parents
// first, and which folders are skipped and why.
package folders
