package catalog

import (
	_ "embed"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Entry describes one well-known TCP port.
type Entry struct {
	Port        uint16 `json:"port"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

//go:embed ports.tsv
var portsTSV string

// entries is parsed once, on first use. The data is part of the binary and
// its tests, so a parse failure is a build defect: it panics rather than
// leave every caller an error it cannot act on.
var entries = sync.OnceValue(func() []Entry {
	es, err := parsePorts(portsTSV)
	if err != nil {
		panic("catalog: ports.tsv: " + err.Error())
	}
	return es
})

// parsePorts reads the port table. It insists on ascending, unique ports
// so the embedded file stays easy to review and Lookup can search it.
func parsePorts(data string) ([]Entry, error) {
	var out []Entry
	for n, line := range strings.Split(data, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		e, err := parseEntry(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		if len(out) > 0 && e.Port <= out[len(out)-1].Port {
			return nil, fmt.Errorf("line %d: port %d is out of order or repeated", n+1, e.Port)
		}
		out = append(out, e)
	}
	return out, nil
}

func parseEntry(line string) (Entry, error) {
	fields := strings.Split(line, "\t")
	if len(fields) != 3 {
		return Entry{}, fmt.Errorf("want 3 tab-separated fields, got %d", len(fields))
	}
	port, err := strconv.ParseUint(fields[0], 10, 16)
	if err != nil || port == 0 {
		return Entry{}, fmt.Errorf("port %q is not 1-65535", fields[0])
	}
	name, desc := fields[1], fields[2]
	if name == "" || strings.ContainsAny(name, " \t") || strings.TrimSpace(desc) != desc || desc == "" {
		return Entry{}, fmt.Errorf("port %d: name must be one word and description non-empty and trimmed", port)
	}
	return Entry{Port: uint16(port), Name: name, Description: desc}, nil
}

// Lookup returns the catalog entry for port, if the catalog knows it.
func Lookup(port uint16) (Entry, bool) {
	es := entries()
	i, ok := slices.BinarySearchFunc(es, port, func(e Entry, p uint16) int { return int(e.Port) - int(p) })
	if !ok {
		return Entry{}, false
	}
	return es[i], true
}

// All returns every entry in ascending port order, as a copy the caller
// may keep or change.
func All() []Entry { return slices.Clone(entries()) }
