package app

import (
	"strings"
	"unicode/utf8"
)

// Truncate returns s cut to at most n bytes, as valid UTF-8: invalid bytes become U+FFFD and
// the cut never falls inside a character. PostgreSQL refuses text that is not valid UTF-8, so
// whatever a client or scanner sends goes through this before it is stored.
func Truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
