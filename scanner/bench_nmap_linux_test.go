package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkVersusNmap is `make bench`'s comparison: mipo-scanner's engine and
// nmap 7.93's connect scan (`nmap -sT -T5 -n -Pn`), one after the other in
// the same run, in a private network namespace (as root; skipped otherwise),
// on the same targets:
//
//  1. many hosts: 127.0.0.1-16 and ::1, all 65,535 ports, listeners in the
//     low, registered and ephemeral ranges, a few ports DROPped;
//  2. dead space: a /24 whose every packet is DROPped, 100 ports (and nmap
//     on a /28 of it, as nmap takes minutes for the /24);
//  3. one host, all ports.
//
// Each scanner runs as a child process (the test binary re-executed as a
// bare scan), so its CPU seconds come from getrusage of that child alone;
// every run is bounded in time. It prints the ratios at the end.
func BenchmarkVersusNmap(b *testing.B) {
	if !inNetNS(b) {
		return
	}
	if _, err := exec.LookPath("nmap"); err != nil {
		b.Skip("nmap is not installed (make nmap); skipped")
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		b.Skip("iptables is not installed (make iptables); skipped")
	}
	truth := benchTargets(b)
	var lines []string
	say := func(format string, a ...any) {
		s := fmt.Sprintf(format, a...)
		lines = append(lines, s)
		fmt.Println(s)
	}
	defer func() {
		fmt.Println("\n=== mipo-scanner vs nmap 7.93, same run, same targets ===")
		for _, l := range lines {
			fmt.Println(l)
		}
	}()

	// 1. Many hosts, every port.
	hosts := []Interval{iv("127.0.0.1", "127.0.0.16"), iv("::1", "::1")}
	ours := scanChild(b, benchJob{Targets: hosts, Ports: []PortRange{{1, 65535}}, TimeoutMS: 1000, Retries: 1, Concurrency: defaultMaxConcurrency}, 10*time.Minute)
	n4 := nmapChild(b, 10*time.Minute, "-p-", "127.0.0.1-16")
	n6 := nmapChild(b, 5*time.Minute, "-6", "-p-", "::1")
	nm := n4.plus(n6)
	probes := 17 * 65535.0
	say("1. many hosts (16 IPv4 + ::1, all ports, %d open, %d dropped): mipo %.1f s, %.1f CPU-s (%.2f µs/probe, max RSS %d MiB); nmap %.1f s, %.1f CPU-s",
		len(truth), len(benchDropped), ours.wall.Seconds(), ours.cpu, ours.cpu/probes*1e6, ours.rssKiB>>10, nm.wall.Seconds(), nm.cpu)
	say("   speed %.2fx nmap's, CPU %.2fx nmap's; open set: mipo %s, nmap %s",
		nm.wall.Seconds()/ours.wall.Seconds(), ours.cpu/nm.cpu, sameAs(ours.open, truth), sameAs(nm.open, truth))
	if !slices.Equal(ours.open, truth) {
		b.Errorf("mipo's open set differs from the truth: %s", sameAs(ours.open, truth))
	}

	// 2. Dead space: a /24 whose every packet is dropped, 100 ports.
	run(b, "iptables", "-A", "INPUT", "-d", "127.0.2.0/24", "-j", "DROP")
	dead := benchJob{Targets: []Interval{iv("127.0.2.0", "127.0.2.255")}, Ports: []PortRange{{1, 100}}, TimeoutMS: 500, Retries: 1, Concurrency: 2000}
	bound := time.Duration(25600 * (500 + 1000) / 2000 * float64(time.Millisecond))
	d := scanChild(b, dead, 5*time.Minute)
	dead.Targets = []Interval{iv("127.0.2.0", "127.0.2.15")}
	d28 := scanChild(b, dead, 5*time.Minute)
	n28 := nmapChild(b, 5*time.Minute, "-p1-100", "127.0.2.0/28")
	say("2. dead space (DROPped /24 x 100 ports, timeout 500 ms, 1 retry, concurrency 2000): mipo %.1f s against a bound of %.1f s (%.3fx), %.2f CPU-s, %d open (max RSS %d MiB)",
		d.wall.Seconds(), bound.Seconds(), d.wall.Seconds()/bound.Seconds(), d.cpu, len(d.open), d.rssKiB>>10)
	say("   the /28 alone: mipo %.1f s, %.2f CPU-s; nmap %.1f s, %.2f CPU-s%s (%.1fx mipo's time)",
		d28.wall.Seconds(), d28.cpu, n28.wall.Seconds(), n28.cpu, n28.note, n28.wall.Seconds()/d28.wall.Seconds())
	if len(d.open) > 0 || len(d28.open) > 0 {
		b.Errorf("dead space: mipo reported open ports %v %v", d.open, d28.open)
	}
	run(b, "iptables", "-D", "INPUT", "-d", "127.0.2.0/24", "-j", "DROP")

	// 3. One host, every port.
	one := benchJob{Targets: []Interval{iv("127.0.0.5", "127.0.0.5")}, Ports: []PortRange{{1, 65535}}, TimeoutMS: 1000, Retries: 1, Concurrency: defaultMaxConcurrency}
	o := scanChild(b, one, 5*time.Minute)
	n1 := nmapChild(b, 5*time.Minute, "-p-", "127.0.0.5")
	say("3. one host, all ports: mipo %.0f ports/s, %.2f µs CPU/probe; nmap %.0f ports/s, %.2f µs CPU/probe: speed %.2fx, CPU per probe %.2fx nmap's",
		65535/o.wall.Seconds(), o.cpu/65535*1e6, 65535/n1.wall.Seconds(), n1.cpu/65535*1e6, n1.wall.Seconds()/o.wall.Seconds(), o.cpu/n1.cpu)
	b.ReportMetric(nm.wall.Seconds()/ours.wall.Seconds(), "x-nmap-speed-many")
	b.ReportMetric(ours.cpu/nm.cpu, "x-nmap-cpu-many")
	b.ReportMetric(d.wall.Seconds()/bound.Seconds(), "x-bound-dead")
	b.ReportMetric(n1.wall.Seconds()/o.wall.Seconds(), "x-nmap-speed-one")
}

// benchDropped are the ports DROPped on the many-hosts targets (some with a
// listener behind the firewall, which must not count as open).
var benchDropped = []netip.AddrPort{
	netip.MustParseAddrPort("127.0.0.3:22"), netip.MustParseAddrPort("127.0.0.7:8080"),
	netip.MustParseAddrPort("127.0.0.9:45001"), netip.MustParseAddrPort("127.0.0.12:3306"),
	netip.MustParseAddrPort("[::1]:443"),
}

// benchTargets opens listeners on 127.0.0.1-16 and ::1 in the low,
// registered and ephemeral ranges, DROPs benchDropped, and returns what is
// truly open, as "addr port", sorted.
func benchTargets(b *testing.B) []string {
	r := rand.New(rand.NewPCG(13, 13))
	var truth []string
	hosts := []string{"::1"}
	for i := 1; i <= 16; i++ {
		hosts = append(hosts, fmt.Sprintf("127.0.0.%d", i))
	}
	for _, h := range hosts {
		ports := []uint16{22, 80, 443, uint16(1 + r.IntN(1023)), 3306, 8080}
		for range 2 {
			ports = append(ports, uint16(1024+r.IntN(48128)))
		}
		for range 2 {
			ports = append(ports, uint16(49152+r.IntN(16384)), uint16(32768+r.IntN(28232)))
		}
		if h == "127.0.0.9" {
			ports = append(ports, 45001)
		}
		slices.Sort(ports)
		for _, p := range slices.Compact(ports) {
			listenAt(b, h, p)
			ap := netip.AddrPortFrom(netip.MustParseAddr(h), p)
			if !slices.Contains(benchDropped, ap) {
				truth = append(truth, ap.Addr().String()+" "+strconv.Itoa(int(p)))
			}
		}
	}
	for _, ap := range benchDropped {
		cmd := "iptables"
		if ap.Addr().Is6() {
			cmd = "ip6tables"
		}
		run(b, cmd, "-A", "INPUT", "-d", ap.Addr().String(), "-p", "tcp", "--dport", strconv.Itoa(int(ap.Port())), "-j", "DROP")
	}
	slices.Sort(truth)
	return truth
}

func sameAs(got, want []string) string {
	var extra, missing []string
	for _, g := range got {
		if !slices.Contains(want, g) {
			extra = append(extra, g)
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			missing = append(missing, w)
		}
	}
	if extra == nil && missing == nil {
		return fmt.Sprintf("same as the truth (%d)", len(want))
	}
	return fmt.Sprintf("%d found, %d not open in truth %v, %d missed %v", len(got), len(extra), extra, len(missing), missing)
}

// childRun is what one child scanner did.
type childRun struct {
	wall   time.Duration
	cpu    float64 // user + system seconds, from getrusage of the child
	rssKiB int64
	open   []string // "addr port", sorted
	note   string
}

func (a childRun) plus(b childRun) childRun {
	return childRun{wall: a.wall + b.wall, cpu: a.cpu + b.cpu, rssKiB: max(a.rssKiB, b.rssKiB), open: sortedUnion(a.open, b.open), note: a.note + b.note}
}

func sortedUnion(a, b []string) []string {
	u := append(slices.Clone(a), b...)
	slices.Sort(u)
	return slices.Compact(u)
}

// runChild runs cmd within limit and measures it.
func runChild(b *testing.B, cmd *exec.Cmd, limit time.Duration) (childRun, string) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	c := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	c.Env = cmd.Env
	start := time.Now()
	out, err := c.Output()
	r := childRun{wall: time.Since(start)}
	if ctx.Err() != nil {
		r.note = fmt.Sprintf(" (stopped at its %v bound, unfinished)", limit)
	} else if err != nil {
		b.Fatalf("%s: %v\n%s", cmd.Args, err, out)
	}
	if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.cpu = cpuSeconds(ru)
		r.rssKiB = ru.Maxrss
	}
	return r, string(out)
}

var nmapOpenLine = regexp.MustCompile(`Host: (\S+) .*Ports: (.*)`)

// nmapChild runs nmap's connect scan on the namespace's targets.
func nmapChild(b *testing.B, limit time.Duration, args ...string) childRun {
	nmap, _ := exec.LookPath("nmap")
	args = append([]string{"-sT", "-T5", "-n", "-Pn", "--open", "-oG", "-"}, args...)
	r, out := runChild(b, exec.Command(nmap, args...), limit)
	for _, m := range nmapOpenLine.FindAllStringSubmatch(out, -1) {
		for _, f := range nmapOpen.FindAllStringSubmatch(m[2], -1) {
			r.open = append(r.open, m[1]+" "+f[1])
		}
	}
	slices.Sort(r.open)
	return r
}

func scanChild(b *testing.B, j benchJob, limit time.Duration) childRun {
	data, _ := json.Marshal(j)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), benchScanEnv+"="+string(data))
	r, out := runChild(b, cmd, limit)
	for _, l := range strings.Split(out, "\n") {
		if a, ok := strings.CutPrefix(l, "open "); ok {
			r.open = append(r.open, a)
		}
	}
	slices.Sort(r.open)
	return r
}
