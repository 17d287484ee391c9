package task

import (
	"crypto/rand"
	"fmt"
)

const idChars = "abcdefghijklmnopqrstuvwxyz0123456789"

// IDLength is the length of a task id.
const IDLength = 6

// NewID returns a random task id. Ids are unit instance names and file names,
// so they use only [a-z0-9]; 36^6 ≈ 2e9 makes a clash rare, and the store
// checks for one anyway.
func NewID() string {
	b := make([]byte, IDLength)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("task: random id: %v", err)) // crypto/rand does not fail on Linux
	}
	for i := range b {
		b[i] = idChars[int(b[i])%len(idChars)]
	}
	return string(b)
}

// ValidID reports whether id is a well-formed task id.
func ValidID(id string) bool {
	if len(id) != IDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
