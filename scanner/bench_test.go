package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The benchmarks scan all 65535 ports of 127.0.0.1, where a handful of
// listeners are open, and report ports/s and CPU per probe, with this
// platform's engine and with the portable net.Dialer one. They need no root.
// BenchmarkNmapLoopback runs the reference, nmap's connect scan, on the
// same listeners when nmap is installed, and checks both find the same ports.
// (BenchmarkVersusNmap, Linux and root only, is the full comparison.)
//
//	go test -run xxx -bench Loopback -benchtime 3x

var (
	benchOnce  sync.Once
	benchPorts []uint16
)

// benchListeners opens five listeners for the whole benchmark run, so both
// benchmarks scan the same ones.
func benchListeners(b *testing.B) []uint16 {
	benchOnce.Do(func() {
		for range 5 {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() { c.Read(make([]byte, 1)); c.Close() }()
				}
			}()
			benchPorts = append(benchPorts, uint16(ln.Addr().(*net.TCPAddr).Port))
		}
		slices.Sort(benchPorts)
	})
	return benchPorts
}

func cpuSeconds(ru *syscall.Rusage) float64 {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// benchConcurrency is what a default-configured scanner would use here.
const benchConcurrency = 1000

// scanAllLoopback is one full scan by the engine; it returns the open ports.
func scanAllLoopback(b *testing.B, e Engine) []uint16 {
	c := &collector{}
	st, err := e.Scan(context.Background(), ScanParams{
		Targets: one("127.0.0.1"), Ports: []PortRange{{1, 65535}},
		Concurrency: benchConcurrency, Rate: 1e9, Timeout: time.Second, Retries: 1,
	}, nil, c.add)
	if err != nil || st.Open+st.Closed+st.Filtered+st.Unreachable != 65535 {
		b.Fatalf("scan: %v %+v", err, st)
	}
	if st.Timeouts > 0 {
		b.Logf("%d attempts timed out (a listener with a full queue?): the wall time includes their timeouts", st.Timeouts)
	}
	return c.ports("127.0.0.1")
}

func BenchmarkScanLoopback(b *testing.B) {
	b.Run("engine=default", func(b *testing.B) { benchScanLoopback(b, NewEngine(Limits{})) })
	b.Run("engine=dial", func(b *testing.B) { benchScanLoopback(b, newDialEngine(Limits{})) })
}

func benchScanLoopback(b *testing.B, e Engine) {
	defer e.Close()
	ports := benchListeners(b)
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		found := scanAllLoopback(b, e)
		for _, p := range ports {
			if !slices.Contains(found, p) {
				b.Fatalf("listener %d not found; found %v", p, found)
			}
		}
	}
	b.StopTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	b.ReportMetric(65535*float64(b.N)/b.Elapsed().Seconds(), "ports/s")
	b.ReportMetric((cpuSeconds(&after)-cpuSeconds(&before))/float64(b.N), "cpu-s/op")
	b.ReportMetric((cpuSeconds(&after)-cpuSeconds(&before))/float64(b.N)/65535*1e6, "cpu-µs/probe")
}

var nmapOpen = regexp.MustCompile(`(\d+)/open/tcp`)

func BenchmarkNmapLoopback(b *testing.B) {
	nmap, err := exec.LookPath("nmap")
	if err != nil {
		b.Skip("nmap is not installed (apt-get install -y nmap): no reference figure")
	}
	ports := benchListeners(b)
	e := NewEngine(Limits{})
	ours := scanAllLoopback(b, e)
	e.Close()
	var cpu float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(nmap, "-sT", "-T5", "-n", "-Pn", "-p-", "--open", "-oG", "-", "127.0.0.1")
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("nmap: %v\n%s", err, out)
		}
		cpu += cpuSeconds(cmd.ProcessState.SysUsage().(*syscall.Rusage))
		var found []uint16
		for _, m := range nmapOpen.FindAllStringSubmatch(string(out), -1) {
			p, _ := strconv.Atoi(m[1])
			found = append(found, uint16(p))
		}
		slices.Sort(found)
		for _, p := range ports {
			if !slices.Contains(found, p) {
				b.Fatalf("nmap missed listener %d; found %v", p, found)
			}
		}
		if !slices.Equal(found, ours) { // other processes on this machine open and close ports meanwhile
			b.Logf("nmap found %v, mipo-scanner %v, a moment apart (our listeners %v)", found, ours, ports)
		}
	}
	b.StopTimer()
	b.ReportMetric(65535*float64(b.N)/b.Elapsed().Seconds(), "ports/s")
	b.ReportMetric(cpu/float64(b.N), "cpu-s/op")
	b.ReportMetric(cpu/float64(b.N)/65535*1e6, "cpu-µs/probe")
}

// benchJob is a scan for a child: the test binary re-executed with
// benchScanEnv holding it, which runs the engine alone and prints the open
// ports.
type benchJob struct {
	Targets     []Interval
	Ports       []PortRange
	TimeoutMS   int
	Retries     int
	Concurrency int
	Rate        float64
}

const benchScanEnv = "MIPO_SCANNER_BENCH_SCAN"

// benchScanMain is the child's whole life: one scan, on a default engine
// without a rate limit (as a scanner registered with --max-rate 1000000).
func benchScanMain(spec string) {
	var j benchJob
	if err := json.Unmarshal([]byte(spec), &j); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	raiseFDLimit()
	e := NewEngine(Limits{Rate: j.Rate, Concurrency: j.Concurrency})
	opens := make(chan Open, 1024)
	done := make(chan struct{})
	go func() {
		for o := range opens {
			fmt.Printf("open %s %d\n", o.Addr, o.Port)
		}
		close(done)
	}()
	st, err := e.Scan(context.Background(), ScanParams{Targets: j.Targets, Ports: j.Ports, Rate: j.Rate, Concurrency: j.Concurrency,
		Timeout: time.Duration(j.TimeoutMS) * time.Millisecond, Retries: j.Retries}, nil, func(o Open) { opens <- o })
	close(opens)
	<-done
	fmt.Fprintf(os.Stderr, "stats %+v err %v\n", st, err)
}
