package config_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/config"
)

// The property test: a random world of subnets (IPv4 and IPv6, overlapping), nested subnet
// groups, global and per-template exclusions, port lists and groups and templates is built and
// changed step by step through the API. A model of the world is kept beside it, and
// ResolveScope, asked about every template at every moment, must agree with enumerating the
// model's addresses and ports one by one — including at moments long past.

// The universes are small enough to enumerate: 1024 IPv4 and 1024 IPv6 addresses.
var (
	universe4 = netip.MustParsePrefix("10.0.0.0/22")
	universe6 = netip.MustParsePrefix("2001:db8::/118")
)

type world struct {
	Subnets    map[string]string // id → CIDR
	Groups     map[string]*groupModel
	GroupOrder []string // creation order: a group holds only groups made before it, so none cycles
	Exclusions map[string]*exclusionModel
	Lists      map[string]string // id → ports
	ListGroups map[string][]string
	Templates  map[string]*templateModel
}

type groupModel struct{ Subnets, Groups []string }

type exclusionModel struct {
	Targets string
	Global  bool
}

type templateModel struct {
	Name                                                 string
	Version                                              int
	Subnets, SubnetGroups, Exclusions, Lists, ListGroups []string
}

type moment struct {
	at    time.Time
	world world
}

func (w *world) clone() world {
	raw, _ := json.Marshal(w)
	var c world
	json.Unmarshal(raw, &c)
	return c
}

// builder drives the API and the model together.
type builder struct {
	t     *testing.T
	rng   *rand.Rand
	c     *apptest.Client
	clock *app.FakeClock
	w     world
	seq   int
}

func (b *builder) name(prefix string) string { b.seq++; return prefix + strconv.Itoa(b.seq) }

func (b *builder) pick(ids []string, max int) []string {
	ids = slices.Clone(ids)
	b.rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return ids[:min(len(ids), b.rng.IntN(max+1))]
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// randomAddr returns an address of the universe of a random family.
func (b *builder) randomAddr(v6 bool) netip.Addr {
	u := universe4
	if v6 {
		u = universe6
	}
	a := u.Addr().As16()
	n := b.rng.IntN(1 << (u.Addr().BitLen() - u.Bits()))
	a[14], a[15] = a[14]|byte(n>>8), byte(n)
	if v6 {
		return netip.AddrFrom16(a)
	}
	return netip.AddrFrom16(a).Unmap()
}

// randomCIDR returns a prefix inside a universe, from the whole universe down to one address.
func (b *builder) randomCIDR(minLen4 int) string {
	v6 := b.rng.IntN(2) == 1
	bits := minLen4 + b.rng.IntN(33-minLen4)
	if v6 {
		bits += 96
	}
	return netip.PrefixFrom(b.randomAddr(v6), bits).Masked().String()
}

// randomTargets returns an exclusion's text: a few addresses, CIDRs and ranges.
func (b *builder) randomTargets() string {
	var items []string
	for range 1 + b.rng.IntN(3) {
		switch b.rng.IntN(3) {
		case 0:
			items = append(items, b.randomAddr(b.rng.IntN(2) == 1).String())
		case 1:
			items = append(items, b.randomCIDR(26))
		default:
			v6 := b.rng.IntN(2) == 1
			x, y := b.randomAddr(v6), b.randomAddr(v6)
			if y.Less(x) {
				x, y = y, x
			}
			items = append(items, x.String()+"-"+y.String())
		}
	}
	return strings.Join(items, ", ")
}

func (b *builder) randomPorts() string {
	var items []string
	for range 1 + b.rng.IntN(3) {
		p := 1 + b.rng.IntN(2000)
		if b.rng.IntN(2) == 0 {
			items = append(items, strconv.Itoa(p))
		} else {
			items = append(items, fmt.Sprintf("%d-%d", p, p+b.rng.IntN(50)))
		}
	}
	return strings.Join(items, ",")
}

func (b *builder) addSubnet() {
	cidr := b.randomCIDR(22)
	id := create(b.t, b.c, "/api/v1/subnets", map[string]any{"name": b.name("s"), "cidr": cidr})
	b.w.Subnets[id] = cidr
}

func (b *builder) randomGroup(before []string) *groupModel {
	return &groupModel{Subnets: b.pick(keys(b.w.Subnets), 3), Groups: b.pick(before, 2)}
}

func (b *builder) addGroup() {
	g := b.randomGroup(b.w.GroupOrder)
	id := create(b.t, b.c, "/api/v1/subnet-groups", map[string]any{"name": b.name("g"), "subnets": g.Subnets, "groups": g.Groups})
	b.w.Groups[id], b.w.GroupOrder = g, append(b.w.GroupOrder, id)
}

func (b *builder) addExclusion() {
	e := &exclusionModel{Targets: b.randomTargets(), Global: b.rng.IntN(3) == 0}
	id := create(b.t, b.c, "/api/v1/exclusions", map[string]any{"name": b.name("x"), "targets": e.Targets, "global": e.Global})
	b.w.Exclusions[id] = e
}

func (b *builder) addList() {
	ports := b.randomPorts()
	id := create(b.t, b.c, "/api/v1/port-lists", map[string]any{"name": b.name("p"), "ports": ports})
	b.w.Lists[id] = ports
}

func (b *builder) addListGroup() {
	lists := b.pick(keys(b.w.Lists), 3)
	id := create(b.t, b.c, "/api/v1/port-list-groups", map[string]any{"name": b.name("pg"), "lists": lists})
	b.w.ListGroups[id] = lists
}

func (b *builder) randomTemplate(t *templateModel) map[string]any {
	if len(b.w.Subnets) == 0 {
		b.addSubnet()
	}
	for len(t.Subnets)+len(t.SubnetGroups) == 0 {
		t.Subnets, t.SubnetGroups = b.pick(keys(b.w.Subnets), 3), b.pick(keys(b.w.Groups), 2)
	}
	perTemplate := slices.DeleteFunc(keys(b.w.Exclusions), func(id string) bool { return b.w.Exclusions[id].Global })
	t.Exclusions = b.pick(perTemplate, 2)
	for len(t.Lists)+len(t.ListGroups) == 0 {
		t.Lists, t.ListGroups = b.pick(keys(b.w.Lists), 2), b.pick(keys(b.w.ListGroups), 1)
	}
	return map[string]any{"name": t.Name, "subnets": t.Subnets, "subnet_groups": t.SubnetGroups, "exclusions": t.Exclusions,
		"port_lists": t.Lists, "port_list_groups": t.ListGroups}
}

func (b *builder) addTemplate() {
	t := &templateModel{Name: b.name("t"), Version: 1}
	id := create(b.t, b.c, "/api/v1/templates", b.randomTemplate(t))
	b.w.Templates[id] = t
}

// used reports whether anything in the model refers to id.
func (b *builder) used(id string) bool {
	for _, g := range b.w.Groups {
		if slices.Contains(g.Subnets, id) || slices.Contains(g.Groups, id) {
			return true
		}
	}
	for _, lists := range b.w.ListGroups {
		if slices.Contains(lists, id) {
			return true
		}
	}
	for _, t := range b.w.Templates {
		for _, ids := range [][]string{t.Subnets, t.SubnetGroups, t.Exclusions, t.Lists, t.ListGroups} {
			if slices.Contains(ids, id) {
				return true
			}
		}
	}
	return false
}

// step makes one random change through the API and in the model.
func (b *builder) step() {
	switch b.rng.IntN(11) {
	case 0:
		b.addSubnet()
	case 1:
		id := b.pick(keys(b.w.Subnets), 1)
		if len(id) == 1 {
			cidr := b.randomCIDR(22)
			patch(b.t, b.c, "/api/v1/subnets/"+id[0], map[string]any{"cidr": cidr, "name": b.name("renamed")})
			b.w.Subnets[id[0]] = cidr
		}
	case 2:
		b.addGroup()
	case 3:
		if len(b.w.GroupOrder) > 0 {
			i := b.rng.IntN(len(b.w.GroupOrder))
			id := b.w.GroupOrder[i]
			g := b.randomGroup(b.w.GroupOrder[:i])
			patch(b.t, b.c, "/api/v1/subnet-groups/"+id, map[string]any{"subnets": g.Subnets, "groups": g.Groups})
			b.w.Groups[id] = g
		}
	case 4:
		b.addExclusion()
	case 5:
		if id := b.pick(keys(b.w.Exclusions), 1); len(id) == 1 {
			e := &exclusionModel{Targets: b.randomTargets(), Global: b.rng.IntN(2) == 0}
			patch(b.t, b.c, "/api/v1/exclusions/"+id[0], map[string]any{"targets": e.Targets, "global": e.Global})
			b.w.Exclusions[id[0]] = e
		}
	case 6:
		if id := b.pick(keys(b.w.Lists), 1); len(id) == 1 {
			ports := b.randomPorts()
			patch(b.t, b.c, "/api/v1/port-lists/"+id[0], map[string]any{"ports": ports})
			b.w.Lists[id[0]] = ports
		}
	case 7:
		b.addListGroup()
	case 8:
		b.addTemplate()
	case 9:
		if id := b.pick(keys(b.w.Templates), 1); len(id) == 1 {
			t := b.w.Templates[id[0]]
			t.Subnets, t.SubnetGroups, t.Lists, t.ListGroups = nil, nil, nil, nil
			o := patch(b.t, b.c, "/api/v1/templates/"+id[0], b.randomTemplate(t))
			t.Version = int(o["version"].(float64)) // a change that changes nothing makes no version
		}
	default:
		b.deleteSomethingUnused()
	}
}

func (b *builder) deleteSomethingUnused() {
	for _, kind := range []struct {
		path string
		ids  []string
		drop func(string)
	}{
		{"/api/v1/exclusions/", keys(b.w.Exclusions), func(id string) { delete(b.w.Exclusions, id) }},
		{"/api/v1/subnets/", keys(b.w.Subnets), func(id string) { delete(b.w.Subnets, id) }},
		{"/api/v1/subnet-groups/", keys(b.w.Groups), func(id string) {
			delete(b.w.Groups, id)
			b.w.GroupOrder = slices.DeleteFunc(b.w.GroupOrder, func(g string) bool { return g == id })
		}},
	} {
		for _, id := range kind.ids {
			if !b.used(id) {
				if r := b.c.Delete(kind.path + id); r.Status != http.StatusNoContent {
					b.t.Fatalf("DELETE %s%s: %d %s", kind.path, id, r.Status, r.Body)
				}
				kind.drop(id)
				return
			}
		}
	}
}

// expect enumerates what a template of the model covers, address by address and port by port.
func (w *world) expect(t *testing.T, tm *templateModel) (map[netip.Addr]bool, map[uint16]bool) {
	subnets := map[string]bool{}
	var walk func(ids []string)
	walk = func(groups []string) {
		for _, g := range groups {
			for _, s := range w.Groups[g].Subnets {
				subnets[s] = true
			}
			walk(w.Groups[g].Groups)
		}
	}
	for _, s := range tm.Subnets {
		subnets[s] = true
	}
	walk(tm.SubnetGroups)
	addrs := map[netip.Addr]bool{}
	for s := range subnets {
		p := netip.MustParsePrefix(w.Subnets[s])
		for a := p.Addr(); p.Contains(a); a = a.Next() {
			addrs[a] = true
		}
	}
	for id, e := range w.Exclusions {
		if e.Global || slices.Contains(tm.Exclusions, id) {
			for _, item := range strings.Split(e.Targets, ", ") {
				for _, a := range enumerateItem(t, item) {
					delete(addrs, a)
				}
			}
		}
	}
	lists := slices.Clone(tm.Lists)
	for _, g := range tm.ListGroups {
		lists = append(lists, w.ListGroups[g]...)
	}
	ports := map[uint16]bool{}
	for _, l := range lists {
		for _, item := range strings.Split(w.Lists[l], ",") {
			first, last, isRange := strings.Cut(item, "-")
			if !isRange {
				last = first
			}
			f, _ := strconv.Atoi(first)
			l, _ := strconv.Atoi(last)
			for p := f; p <= l; p++ {
				ports[uint16(p)] = true
			}
		}
	}
	return addrs, ports
}

// enumerateItem lists the addresses of one exclusion item, written the way the model wrote it.
func enumerateItem(t *testing.T, item string) []netip.Addr {
	var first, last netip.Addr
	switch {
	case strings.Contains(item, "/"):
		p := netip.MustParsePrefix(item)
		first = p.Addr()
		for last = first; p.Contains(last.Next()); last = last.Next() {
		}
	case strings.Contains(item, "-"):
		a, z, _ := strings.Cut(item, "-")
		first, last = netip.MustParseAddr(a), netip.MustParseAddr(z)
	default:
		first = netip.MustParseAddr(item)
		last = first
	}
	var out []netip.Addr
	for a := first; a.Compare(last) <= 0; a = a.Next() {
		out = append(out, a)
	}
	return out
}

func enumerateScope(s *config.Scope) (map[netip.Addr]bool, map[uint16]bool) {
	addrs := map[netip.Addr]bool{}
	for _, iv := range s.Targets.Intervals() {
		for a := iv.First; a.Compare(iv.Last) <= 0; a = a.Next() {
			addrs[a] = true
		}
	}
	ports := map[uint16]bool{}
	for _, r := range s.Ports.Ranges() {
		for p := int(r.First); p <= int(r.Last); p++ {
			ports[uint16(p)] = true
		}
	}
	return addrs, ports
}

func sameKeys[K comparable](a, b map[K]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func TestResolveScopeAgreesWithBruteForceAtEveryMoment(t *testing.T) {
	t.Parallel()
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			srv, c, clock := start(t)
			b := &builder{t: t, rng: rand.New(rand.NewPCG(seed, 7)), c: c, clock: clock, w: world{Subnets: map[string]string{},
				Groups: map[string]*groupModel{}, Exclusions: map[string]*exclusionModel{}, Lists: map[string]string{},
				ListGroups: map[string][]string{}, Templates: map[string]*templateModel{}}}
			beforeAll := clock.Now()
			clock.Advance(time.Second)
			for range 6 {
				b.addSubnet()
			}
			for range 3 {
				b.addGroup()
			}
			for range 3 {
				b.addExclusion()
			}
			b.addList()
			b.addList()
			b.addListGroup()
			b.addTemplate()
			moments := []moment{{clock.Now(), b.w.clone()}}
			for range 40 {
				clock.Advance(time.Second)
				b.step()
				moments = append(moments, moment{clock.Now(), b.w.clone()})
			}
			checked := 0
			for _, m := range moments {
				// At the moment of a change the change counts; just before the next one, still.
				for _, at := range []time.Time{m.at, m.at.Add(999 * time.Millisecond)} {
					checked += checkMoment(t, srv, m.world, at)
				}
			}
			for id := range b.w.Templates {
				if _, err := config.ResolveScope(t.Context(), srv.DBs.Config, id, beforeAll); !isStatus(err, http.StatusNotFound) {
					t.Fatalf("a template resolved before it existed: %v", err)
				}
			}
			t.Logf("%d resolutions agreed with enumeration", checked)
		})
	}
}

func checkMoment(t *testing.T, srv *apptest.Server, w world, at time.Time) int {
	t.Helper()
	checked := 0
	for id, tm := range w.Templates {
		s, err := config.ResolveScope(t.Context(), srv.DBs.Config, id, at)
		if err != nil {
			t.Fatalf("resolving %s at %s: %v", tm.Name, at, err)
		}
		wantAddrs, wantPorts := w.expect(t, tm)
		gotAddrs, gotPorts := enumerateScope(s)
		if !sameKeys(gotAddrs, wantAddrs) || s.Targets.Count().Int64() != int64(len(wantAddrs)) {
			t.Fatalf("%s at %s: ResolveScope gives %d addresses (%s), enumeration %d", tm.Name, at, len(gotAddrs), s.Targets, len(wantAddrs))
		}
		if !sameKeys(gotPorts, wantPorts) {
			t.Fatalf("%s at %s: ResolveScope gives ports %s, enumeration %d ports", tm.Name, at, s.Ports, len(wantPorts))
		}
		if s.TemplateVersion != tm.Version || s.TemplateName != tm.Name || s.TemplateID != id {
			t.Fatalf("%s at %s: version %d name %s, want %d %s", tm.Name, at, s.TemplateVersion, s.TemplateName, tm.Version, tm.Name)
		}
		checked++
	}
	return checked
}

func isStatus(err error, status int) bool {
	var e *app.Error
	return errors.As(err, &e) && e.Status == status
}

func TestTheGoAPIForScansAndScanners(t *testing.T) {
	t.Parallel()
	srv, c, clock := start(t)
	f := makeFixture(t, c)
	scanner, group := "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b", "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
	other := create(t, c, "/api/v1/templates", map[string]any{"name": "vantage", "subnets": []string{f.lab}, "port_lists": []string{f.list},
		"scanners": map[string]any{"mode": "vantage", "scanner_group_ids": []string{strings.ToUpper(group)}}})
	patch(t, c, "/api/v1/templates/"+f.template, map[string]any{"scanners": map[string]any{"mode": "pool", "scanner_ids": []string{scanner}}})
	tg := create(t, c, "/api/v1/template-groups", map[string]any{"name": "all", "templates": []string{other, f.template}})

	ctx, db := t.Context(), srv.DBs.Config
	if ids, err := config.TemplateGroupMembers(ctx, db, tg); err != nil || !slices.Equal(ids, []string{other, f.template}) {
		t.Fatalf("TemplateGroupMembers = %v, %v", ids, err)
	}
	if _, err := config.TemplateGroupMembers(ctx, db, f.template); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("TemplateGroupMembers of a template: %v", err)
	}
	for id, want := range map[string][]string{scanner: {"weekly"}, group: {"vantage"}, strings.ToUpper(scanner): {"weekly"}, f.lab: {}, "x": {}} {
		if names, err := config.TemplatesUsingScanners(ctx, db, id); err != nil || !slices.Equal(names, want) {
			t.Fatalf("TemplatesUsingScanners(%s) = %v, %v; want %v", id, names, err, want)
		}
	}
	if got := names(t, c, "/api/v1/templates?scanner="+group); !slices.Equal(got, []string{"vantage"}) {
		t.Fatalf("templates naming the scanner group: %v", got)
	}

	// The scope is plain data: it survives JSON, as a scan freezes it.
	s, err := config.ResolveScope(ctx, db, other, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back config.Scope
	if err := json.Unmarshal(raw, &back); err != nil || !back.Targets.Equal(s.Targets) || !back.Ports.Equal(s.Ports) ||
		back.ScannerMode != "vantage" || !slices.Equal(back.ScannerGroupIDs, []string{group}) || back.TimeoutMS != 1000 {
		t.Fatalf("round trip: %s → %+v (%v)", raw, back, err)
	}

	// The API shows the same, now or at a past moment.
	past := clock.Now()
	clock.Advance(10 * time.Minute) // within the session's idle time
	patch(t, c, "/api/v1/subnets/"+f.lab, map[string]any{"cidr": "10.0.1.0/25"})
	var view struct {
		Targets         []string
		HostCount       string `json:"host_count"`
		Ports           string
		TemplateVersion int `json:"template_version"`
	}
	get(t, c, "/api/v1/templates/"+other+"/scope", &view)
	if !slices.Equal(view.Targets, []string{"10.0.1.0/25"}) || view.HostCount != "128" || view.Ports != "22" {
		t.Fatalf("scope now: %+v", view)
	}
	get(t, c, "/api/v1/templates/"+other+"/scope?at="+past.Format(time.RFC3339Nano), &view)
	if !slices.Equal(view.Targets, []string{"10.0.1.0/24"}) || view.HostCount != "256" {
		t.Fatalf("scope ten minutes ago: %+v", view)
	}
	wantError(t, c.Get("/api/v1/templates/"+other+"/scope?at=yesterday"), http.StatusBadRequest, "invalid_time", "at")
	if r := c.Get("/api/v1/templates/" + other + "/scope?at=2000-01-01T00:00:00Z"); r.Status != http.StatusNotFound {
		t.Fatalf("scope before the template existed: %d %s", r.Status, r.Body)
	}
}
