package remote

import (
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// SeqOf returns the sequence number of a message of the selected folder,
// and false if the folder no longer holds it.
//
// Why: go-imap hands a UID FETCH answer to its command by the UID, and
// drops an answer whose UID comes after a literal (legal IMAP). A FETCH by
// sequence number is matched by the number, which comes first. The number
// SeqOf returns stays valid for a FETCH sent right after it: a server may
// not announce an EXPUNGE during a SEARCH or FETCH by number (RFC 3501
// §7.4.1), and no other command runs in between.
func SeqOf(c *imapclient.Client, uid uint32) (uint32, bool, error) {
	data, err := c.Search(&imap.SearchCriteria{UID: []imap.UIDSet{imap.UIDSetNum(imap.UID(uid))}}, nil).Wait()
	if err != nil {
		return 0, false, fmt.Errorf("search UID %d: %w", uid, err)
	}
	seqs := data.AllSeqNums()
	if len(seqs) != 1 {
		return 0, false, nil
	}
	return seqs[0], true, nil
}
