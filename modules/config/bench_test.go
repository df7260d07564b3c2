package config

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"mipo/app"
	"mipo/app/apptest"
)

// Benchmarks of scope resolution: through ResolveScope on a real database, and the interval
// arithmetic alone. Each reports the intervals of the result beside ns/op, B/op and allocs/op:
// memory follows the number of subnets, exclusions and intervals, never the number of
// addresses (10.0.0.0/8 holds 16.7 million; the IPv6 subnets far more).

// randomPrefixes returns n prefixes inside base with lengths from minBits to maxBits, so they
// overlap and nest.
func randomPrefixes(rng *rand.Rand, n int, base netip.Prefix, minBits, maxBits int) []string {
	fixed := base.Bits() // the bits every prefix shares with base, counted in the 16-byte form
	if base.Addr().Is4() {
		fixed += 96
	}
	out := make([]string, n)
	for i := range out {
		a := base.Addr().As16()
		for j := fixed / 8; j < 16; j++ {
			a[j] |= byte(rng.IntN(256)) & (0xff >> min(8, max(0, fixed-j*8)))
		}
		addr := netip.AddrFrom16(a)
		if base.Addr().Is4() {
			addr = addr.Unmap()
		}
		out[i] = netip.PrefixFrom(addr, minBits+rng.IntN(maxBits-minBits+1)).Masked().String()
	}
	return out
}

// randomExclusions returns n exclusion texts inside base: single addresses and small CIDRs.
func randomExclusions(rng *rand.Rand, n int, base netip.Prefix, smallest int) []string {
	out := randomPrefixes(rng, n, base, smallest, base.Addr().BitLen())
	for i := range out {
		if rng.IntN(2) == 0 {
			out[i] = netip.MustParsePrefix(out[i]).Addr().String()
		}
	}
	return out
}

// seeded is a database holding one template over many subnets and exclusions.
type seeded struct {
	pool     *pgxpool.Pool
	template string
}

// seed stores the subnets in subnet groups of groupSize under one top group (a nested
// scope, as operators build them), the exclusions half global and half the template's own,
// and a template over the top group and the top-1000 port list, through the same code the
// API uses.
func seed(b *testing.B, cidrs, exclusions []string, groupSize int) seeded {
	b.Helper()
	dbs := apptest.Databases(b)
	e := &env{pool: func() app.ConfigDB { return dbs.ConfigDB() }, clock: app.SystemClock{}}
	ctx := app.WithPrincipal(context.Background(), app.System("benchmark"))
	subnets, groups, excl, lists, templates := newSubnets(e), newSubnetGroups(e), newExclusions(e), newPortLists(e), newTemplates(e)
	t := newTemplateSpec()
	t.Name = "bench"
	err := app.InTx(ctx, dbs.ConfigDB(), func(ctx context.Context, ch *app.Change) error {
		var top SubnetGroupSpec
		top.Name = "all"
		for start := 0; start < len(cidrs); start += groupSize {
			g := SubnetGroupSpec{Base: Base{Name: fmt.Sprint("group ", start)}}
			for i, c := range cidrs[start:min(start+groupSize, len(cidrs))] {
				s := SubnetSpec{Base: Base{Name: fmt.Sprint("subnet ", start+i)}, CIDR: c}
				id := uuid.NewString()
				if err := subnets.create(ctx, ch.Tx, id, &s, false); err != nil {
					return err
				}
				g.Subnets = append(g.Subnets, id)
			}
			id := uuid.NewString()
			if err := groups.create(ctx, ch.Tx, id, &g, false); err != nil {
				return err
			}
			top.Groups = append(top.Groups, id)
		}
		topID := uuid.NewString()
		if err := groups.create(ctx, ch.Tx, topID, &top, false); err != nil {
			return err
		}
		t.SubnetGroups = []string{topID}
		for i, text := range exclusions {
			x := ExclusionSpec{Base: Base{Name: fmt.Sprint("exclusion ", i)}, Targets: text, Global: i%2 == 0}
			id := uuid.NewString()
			if err := excl.create(ctx, ch.Tx, id, &x, false); err != nil {
				return err
			}
			if !x.Global {
				t.Exclusions = append(t.Exclusions, id)
			}
		}
		ports := PortListSpec{Base: Base{Name: "top"}, Ports: "1-1000"}
		listID := uuid.NewString()
		if err := lists.create(ctx, ch.Tx, listID, &ports, false); err != nil {
			return err
		}
		t.PortLists = []string{listID}
		return templates.create(ctx, ch.Tx, uuid.NewString(), &t, false)
	})
	if err != nil {
		b.Fatal(err)
	}
	var id string
	if err := dbs.Config.QueryRow(ctx, `SELECT id::text FROM config_objects WHERE kind = 'template'`).Scan(&id); err != nil {
		b.Fatal(err)
	}
	return seeded{pool: dbs.Config, template: id}
}

// tenThousand is 5,000 IPv4 subnets in 10.0.0.0/8 and 5,000 IPv6 subnets in 2001:db8::/32,
// overlapping and nested, and 200 exclusions of addresses and small blocks in both.
func tenThousand() (cidrs, exclusions []string) {
	rng := rand.New(rand.NewPCG(1, 2))
	cidrs = append(randomPrefixes(rng, 5000, netip.MustParsePrefix("10.0.0.0/8"), 16, 28),
		randomPrefixes(rng, 5000, netip.MustParsePrefix("2001:db8::/32"), 48, 120)...)
	exclusions = append(randomExclusions(rng, 100, netip.MustParsePrefix("10.0.0.0/8"), 24),
		randomExclusions(rng, 100, netip.MustParsePrefix("2001:db8::/32"), 112)...)
	return cidrs, exclusions
}

// slash8 is 10.0.0.0/8 and 1,000 exclusions inside it.
func slash8() (cidrs, exclusions []string) {
	rng := rand.New(rand.NewPCG(3, 4))
	return []string{"10.0.0.0/8"}, randomExclusions(rng, 1000, netip.MustParsePrefix("10.0.0.0/8"), 24)
}

func benchResolve(b *testing.B, cidrs, exclusions []string, groupSize int) {
	db := seed(b, cidrs, exclusions, groupSize)
	ctx, at := context.Background(), time.Now()
	var s *Scope
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if s, err = ResolveScope(ctx, db.pool, db.template, at); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(s.Targets.Intervals())), "intervals")
}

func benchCompute(b *testing.B, cidrs, exclusions []string) {
	in := scopeInputs{cidrs: cidrs, exclusions: exclusions, ports: []string{"1-1000"}}
	var targets []netip.Addr
	b.ReportAllocs()
	for b.Loop() {
		set, _, err := in.compute()
		if err != nil {
			b.Fatal(err)
		}
		targets = targets[:0]
		for _, iv := range set.Intervals() {
			targets = append(targets, iv.First)
		}
	}
	b.ReportMetric(float64(len(targets)), "intervals")
}

func BenchmarkResolveScope10kSubnets(b *testing.B) {
	cidrs, exclusions := tenThousand()
	benchResolve(b, cidrs, exclusions, 1000)
}

func BenchmarkComputeScope10kSubnets(b *testing.B) {
	cidrs, exclusions := tenThousand()
	benchCompute(b, cidrs, exclusions)
}

func BenchmarkResolveScopeSlash8Minus1kExclusions(b *testing.B) {
	cidrs, exclusions := slash8()
	benchResolve(b, cidrs, exclusions, 1000)
}

func BenchmarkComputeScopeSlash8Minus1kExclusions(b *testing.B) {
	cidrs, exclusions := slash8()
	benchCompute(b, cidrs, exclusions)
}
