package catalog

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"

	"mipo/modules/config/portset"
)

// List is a built-in starter port list.
type List struct {
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Ports       portset.Set `json:"ports"`
}

//go:embed lists.tsv
var listsTSV string

// lists is parsed once, on first use; see entries for why it panics.
var lists = sync.OnceValue(func() []List {
	ls, err := parseLists(listsTSV)
	if err != nil {
		panic("catalog: lists.tsv: " + err.Error())
	}
	return ls
})

func parseLists(data string) ([]List, error) {
	var out []List
	for n, line := range strings.Split(data, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 3 || fields[0] == "" || fields[1] == "" {
			return nil, fmt.Errorf("line %d: want name, description and ports, tab-separated", n+1)
		}
		ports, err := portset.Parse(fields[2])
		if err != nil {
			return nil, fmt.Errorf("line %d: list %s: %w", n+1, fields[0], err)
		}
		if _, dup := findList(out, fields[0]); dup {
			return nil, fmt.Errorf("line %d: list %s is defined twice", n+1, fields[0])
		}
		out = append(out, List{Name: fields[0], Description: fields[1], Ports: ports})
	}
	return out, nil
}

func findList(ls []List, name string) (List, bool) {
	i := slices.IndexFunc(ls, func(l List) bool { return l.Name == name })
	if i < 0 {
		return List{}, false
	}
	return ls[i], true
}

// Lists returns the starter port lists in their file order. Sets are
// values, so the copy is safe to keep.
func Lists() []List { return slices.Clone(lists()) }

// ListByName returns the starter list called name, such as "top-100".
func ListByName(name string) (List, bool) { return findList(lists(), name) }
