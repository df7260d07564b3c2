package portset

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseError names the item of a port list that is wrong and why, in
// words meant for the operator who typed it.
type ParseError struct {
	// Input is the offending item, trimmed; empty when the list is empty.
	Input string
	// Offset is where Input starts in the parsed string, in bytes.
	Offset int
	// Reason says what is wrong with Input.
	Reason string
	// Suggestion is a corrected item, or "" when there is no obvious one.
	Suggestion string
}

func (e *ParseError) Error() string {
	msg := e.Reason
	if e.Input != "" {
		msg = fmt.Sprintf("%q at position %d: %s", e.Input, e.Offset+1, e.Reason)
	}
	if e.Suggestion != "" {
		msg += "; did you mean " + e.Suggestion + "?"
	}
	return msg
}

// Parse reads a comma-separated list of ports and ranges such as
// "22, 80,443,8000-8100". Spaces around items and dashes, duplicates,
// overlaps and empty items are tolerated; anything else fails with a
// *ParseError naming the item and where it stands. A list with no port
// at all is an error: an empty port list scans nothing.
func Parse(s string) (Set, error) {
	var rs []Range
	for start := 0; start <= len(s); {
		end := strings.IndexByte(s[start:], ',')
		if end < 0 {
			end = len(s) - start
		}
		item := s[start : start+end]
		trimmed := strings.TrimSpace(item)
		if trimmed != "" {
			r, err := parseItem(trimmed)
			if err != nil {
				err.Offset = start + strings.Index(item, trimmed)
				return Set{}, err
			}
			rs = append(rs, r)
		}
		start += end + 1
	}
	if len(rs) == 0 {
		return Set{}, &ParseError{Reason: "no ports given"}
	}
	return Set{r: normalize(rs)}, nil
}

// MustParse is Parse for lists known to be valid, such as built-in data;
// it panics on an error.
func MustParse(s string) Set {
	set, err := Parse(s)
	if err != nil {
		panic("portset: " + err.Error())
	}
	return set
}

// parseItem reads one port or range. A suggestion that would itself be
// refused is dropped: a fix must never lead to a second error.
func parseItem(item string) (Range, *ParseError) {
	r, err := parseItemText(item)
	if err != nil && err.Suggestion != "" {
		if _, again := parseItemText(err.Suggestion); again != nil {
			err.Suggestion = ""
		}
	}
	return r, err
}

func parseItemText(item string) (Range, *ParseError) {
	firstText, lastText, isRange := strings.Cut(item, "-")
	firstText, lastText = strings.TrimSpace(firstText), strings.TrimSpace(lastText)
	if !isRange {
		p, err := parsePort(item, firstText)
		if err != nil {
			return Range{}, err
		}
		if !isPort(p) {
			return Range{}, &ParseError{Input: item, Reason: "ports are 1-65535"}
		}
		return Range{uint16(p), uint16(p)}, nil
	}
	switch {
	case firstText == "" && lastText == "":
		return Range{}, &ParseError{Input: item, Reason: "range has no ports", Suggestion: "1-65535"}
	case firstText == "":
		return Range{}, &ParseError{Input: item, Reason: "range has no start", Suggestion: "1-" + lastText}
	case lastText == "":
		return Range{}, &ParseError{Input: item, Reason: "range has no end", Suggestion: firstText + "-65535"}
	}
	first, err := parsePort(item, firstText)
	if err != nil {
		return Range{}, err
	}
	last, err := parsePort(item, lastText)
	if err != nil {
		return Range{}, err
	}
	if err := checkRange(item, first, last); err != nil {
		return Range{}, err
	}
	return Range{uint16(first), uint16(last)}, nil
}

// parsePort reads a decimal number. Values out of range are returned
// clamped to 65536, so the caller can say "ports are 1-65535".
func parsePort(item, text string) (int, *ParseError) {
	if strings.ContainsAny(text, " \t\r\n") {
		return 0, &ParseError{Input: item, Reason: "contains a space; separate ports with commas"}
	}
	if text == "" || strings.Trim(text, "0123456789") != "" {
		return 0, &ParseError{Input: item, Reason: "not a port number"}
	}
	n, err := strconv.Atoi(text)
	if err != nil || n > 65535 {
		n = 65536
	}
	return n, nil
}

func isPort(n int) bool { return n >= 1 && n <= 65535 }

// checkRange validates a range's ends and suggests the nearest valid range.
func checkRange(item string, first, last int) *ParseError {
	if !isPort(first) || !isPort(last) {
		fix := ""
		if lo, hi := max(first, 1), min(last, 65535); lo <= hi {
			fix = fmt.Sprintf("%d-%d", lo, hi)
		}
		return &ParseError{Input: item, Reason: "ports are 1-65535", Suggestion: fix}
	}
	if first > last {
		return &ParseError{Input: item, Reason: "range start is after its end",
			Suggestion: fmt.Sprintf("%d-%d", last, first)}
	}
	return nil
}
