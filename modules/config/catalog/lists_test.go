package catalog

import (
	"strings"
	"testing"

	"mipo/modules/config/portset"
)

func TestStarterLists(t *testing.T) {
	wantSize := map[string]int{"top-100": 100, "top-1000": 1000, "all": 65535}
	var got []string
	for _, l := range Lists() {
		got = append(got, l.Name)
		if l.Description == "" || l.Ports.IsEmpty() {
			t.Errorf("list %s has no description or no ports", l.Name)
		}
		if n, ok := wantSize[l.Name]; ok && l.Ports.Count() != n {
			t.Errorf("list %s has %d ports, want %d", l.Name, l.Ports.Count(), n)
		}
	}
	if strings.Join(got, " ") != "web databases remote-admin top-100 top-1000 all" {
		t.Errorf("lists = %v", got)
	}
	top100, _ := ListByName("top-100")
	top1000, _ := ListByName("top-1000")
	if !top1000.Ports.ContainsSet(top100.Ports) {
		t.Errorf("top-100 ports missing from top-1000: %s", top100.Ports.Subtract(top1000.Ports))
	}
	if all, _ := ListByName("all"); !all.Ports.Equal(portset.All()) {
		t.Errorf("all = %s", all.Ports)
	}
	if _, ok := ListByName("nope"); ok {
		t.Error("ListByName found a list that does not exist")
	}
}

// The short lists are what operators read: every port on them should be
// one the catalog can name.
func TestNamedListsUseCatalogPorts(t *testing.T) {
	var known []uint16
	for _, e := range All() {
		known = append(known, e.Port)
	}
	catalogPorts, err := portset.FromPorts(known...)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"web", "databases", "remote-admin", "top-100"} {
		l, _ := ListByName(name)
		if missing := l.Ports.Subtract(catalogPorts); !missing.IsEmpty() {
			t.Errorf("list %s has ports the catalog does not name: %s", name, missing)
		}
	}
}

// The file keeps each list in normalised form, so it reads the way the
// UI shows it and a diff shows real changes only.
func TestListFileIsNormalised(t *testing.T) {
	for _, line := range strings.Split(listsTSV, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		set, err := portset.Parse(fields[len(fields)-1])
		if err != nil {
			t.Fatalf("%s: %v", fields[0], err)
		}
		if set.String() != fields[len(fields)-1] {
			t.Errorf("list %s is not normalised; write it as %s", fields[0], set)
		}
	}
}

func TestParseListsRejectsBadData(t *testing.T) {
	bad := map[string]string{
		"bad ports":   "web\tweb ports\t80,0\n",
		"no ports":    "web\tweb ports\t\n",
		"duplicate":   "web\ta\t80\nweb\tb\t443\n",
		"two fields":  "web\t80\n",
		"no describe": "web\t\t80\n",
	}
	for what, data := range bad {
		if _, err := parseLists(data); err == nil {
			t.Errorf("%s: parseLists accepted %q", what, data)
		}
	}
}
