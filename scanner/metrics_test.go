package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	sampleStat    = "cpu  100 0 50 800 50 0 0 0 20 0\ncpu0 100 0 50 800 50 0 0 0 20 0\nintr 1\n"
	sampleMeminfo = "MemTotal:        8000000 kB\nMemFree:         1000000 kB\nMemAvailable:    6000000 kB\nBuffers:  1 kB\n"
	sampleNetDev  = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 999999     100    0    0    0     0          0         0   999999     100    0    0    0     0       0          0
  eth0: 1000      10    0    0    0     0          0         0     2000      20    0    0    0     0       0          0
  eth1:   34       1    0    0    0     0          0         0       78       1    0    0    0     0       0          0
`
)

func TestParsers(t *testing.T) {
	if v, err := parseLoadavg([]byte("0.42 0.30 0.20 1/123 4567\n")); err != nil || v != 0.42 {
		t.Fatalf("loadavg %v %v", v, err)
	}
	c, err := parseStat([]byte(sampleStat))
	if err != nil || c.total != 1000 || c.idle != 850 {
		t.Fatalf("stat %+v %v", c, err)
	}
	if p := cpuPercent(cpuTimes{}, c); p != 15 {
		t.Fatalf("cpu percent since boot %v, want 15", p)
	}
	if p := cpuPercent(c, cpuTimes{total: 1200, idle: 900}); p != 75 {
		t.Fatalf("cpu percent over interval %v, want 75", p)
	}
	used, total, err := parseMeminfo([]byte(sampleMeminfo))
	if err != nil || total != 8000000*1024 || used != 2000000*1024 {
		t.Fatalf("meminfo %d/%d %v", used, total, err)
	}
	// Without MemAvailable: MemFree + Buffers + Cached.
	used, _, err = parseMeminfo([]byte("MemTotal: 100 kB\nMemFree: 10 kB\nBuffers: 5 kB\nCached: 25 kB\n"))
	if err != nil || used != 60*1024 {
		t.Fatalf("meminfo without MemAvailable: %d %v", used, err)
	}
	rx, tx, err := parseNetDev([]byte(sampleNetDev))
	if err != nil || rx != 1034 || tx != 2078 {
		t.Fatalf("net/dev rx %d tx %d %v (lo must not count)", rx, tx, err)
	}
	for name, bad := range map[string]func() error{
		"loadavg":  func() error { _, err := parseLoadavg([]byte("x")); return err },
		"stat":     func() error { _, err := parseStat([]byte("intr 1\n")); return err },
		"meminfo":  func() error { _, _, err := parseMeminfo([]byte("MemFree: 1 kB\n")); return err },
		"net/dev":  func() error { _, _, err := parseNetDev([]byte("eth0: 1 2 3\n")); return err },
		"net/dev2": func() error { _, _, err := parseNetDev([]byte("a|b\nc|d\neth0: 1 2 3\n")); return err },
	} {
		if bad() == nil {
			t.Errorf("%s: bad input accepted", name)
		}
	}
}

func TestMetricsReaderRealProc(t *testing.T) {
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc here")
	}
	m := &metricsReader{proc: "/proc"}
	got, err := m.Read()
	if err != nil {
		t.Fatal(err)
	}
	if got.MemTotalBytes == 0 || got.MemUsedBytes > got.MemTotalBytes || got.CPUPercent < 0 || got.CPUPercent > 100 {
		t.Fatalf("implausible metrics %+v", got)
	}
}

// On Linux the reader counts this process's descriptors: at least stdin, stdout
// and stderr and the files the test holds open, and within the soft limit. The
// count is compared with what the test holds, never with an earlier count:
// other tests' connections may close between two reads.
func TestMetricsReaderCountsFDs(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd here")
	}
	m := &metricsReader{proc: "/proc"}
	const held = 64
	for i := 0; i < held; i++ {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
	}
	got, _ := m.Read()
	if got.FDOpen < 3+held || got.FDLimit < got.FDOpen {
		t.Fatalf("implausible fd use %d of %d while the test holds %d files open", got.FDOpen, got.FDLimit, held)
	}
	if limit, _ := fdSoftLimit(); got.FDLimit != limit {
		t.Fatalf("fd_limit %d, soft limit %d", got.FDLimit, limit)
	}
	// Where the directory is missing, both are left out of the heartbeat.
	if got, _ := (&metricsReader{proc: t.TempDir()}).Read(); got.FDOpen != 0 || got.FDLimit != 0 {
		t.Fatalf("fd use without /proc/self/fd: %+v", got)
	}
}

func TestMetricsReaderPartial(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "loadavg"), []byte("1.5 1 1 1/1 1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "meminfo"), []byte(sampleMeminfo), 0o644)
	m := &metricsReader{proc: dir}
	got, err := m.Read()
	if err == nil || !strings.Contains(err.Error(), "stat") || !strings.Contains(err.Error(), "net/dev") {
		t.Fatalf("missing files not reported: %v", err)
	}
	if got.Load1 != 1.5 || got.MemTotalBytes == 0 {
		t.Fatalf("what could be read was lost: %+v", got)
	}
}

func FuzzParseLoadavg(f *testing.F) {
	f.Add([]byte("0.42 0.30 0.20 1/123 4567\n"))
	f.Add([]byte("NaN"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, err := parseLoadavg(b); err == nil && (v < 0 || v != v) {
			t.Fatalf("accepted %v", v)
		}
	})
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte(sampleStat))
	f.Add([]byte("cpu 1 2 3 4\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseStat(b)
		if err != nil {
			return
		}
		if c.idle > c.total {
			t.Fatalf("idle %d > total %d", c.idle, c.total)
		}
		if p := cpuPercent(cpuTimes{}, c); p < 0 || p > 100 || p != p {
			t.Fatalf("cpu percent %v", p)
		}
	})
}

func FuzzParseMeminfo(f *testing.F) {
	f.Add([]byte(sampleMeminfo))
	f.Add([]byte("MemTotal: 5\nMemAvailable: 9\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		used, total, err := parseMeminfo(b)
		if err == nil && used > total {
			t.Fatalf("used %d > total %d", used, total)
		}
	})
}

func FuzzParseNetDev(f *testing.F) {
	f.Add([]byte(sampleNetDev))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseNetDev(b) // must not panic
	})
}
