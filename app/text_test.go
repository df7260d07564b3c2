package app

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncateNeverCutsACharacter(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"aé", 2, "a"},  // é is two bytes: cutting after one would leave half of it
		{"€uro", 2, ""}, // € is three bytes
		{"€uro", 3, "€"},
		{"a\xffb", 10, "a\uFFFDb"},
		{"\xff\xfe", 3, "\uFFFD"},
	} {
		if got := Truncate(c.in, c.n); got != c.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

func FuzzTruncate(f *testing.F) {
	f.Add("aé€😀\xff", 3)
	f.Add(strings.Repeat("ü", 40), 63)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 1<<16 {
			return
		}
		got := Truncate(s, n)
		if len(got) > n || !utf8.ValidString(got) {
			t.Fatalf("Truncate(%q, %d) = %q: %d bytes, valid %v", s, n, got, len(got), utf8.ValidString(got))
		}
		if utf8.ValidString(s) && !strings.HasPrefix(s, got) {
			t.Fatalf("Truncate(%q, %d) = %q is not a prefix of valid input", s, n, got)
		}
	})
}
