package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Metrics is what a heartbeat tells about the host, read from /proc.
type Metrics struct {
	Load1         float64 `json:"load1"`
	CPUPercent    float64 `json:"cpu_percent"`
	MemUsedBytes  uint64  `json:"mem_used_bytes"`
	MemTotalBytes uint64  `json:"mem_total_bytes"`
	NetRxBytes    uint64  `json:"net_rx_bytes"`
	NetTxBytes    uint64  `json:"net_tx_bytes"`
	// This process's open file descriptors and its soft RLIMIT_NOFILE; omitted
	// where /proc/self/fd cannot be read (platforms other than Linux).
	FDOpen  int `json:"fd_open,omitempty"`
	FDLimit int `json:"fd_limit,omitempty"`
}

// cpuTimes is the aggregate "cpu" line of /proc/stat, in clock ticks.
type cpuTimes struct{ total, idle uint64 }

// metricsReader remembers the previous CPU sample, so cpu_percent covers the
// interval since the last heartbeat (since boot for the first).
type metricsReader struct {
	proc string // "/proc", replaced in tests
	prev cpuTimes
}

// Read gathers what it can; a file it cannot read or parse leaves its fields
// zero and is reported in the error, so a heartbeat is still sent.
func (m *metricsReader) Read() (Metrics, error) {
	var out Metrics
	var errs []string
	read := func(name string, parse func([]byte) error) {
		data, err := os.ReadFile(m.proc + "/" + name)
		if err == nil {
			err = parse(data)
		}
		if err != nil {
			errs = append(errs, name+": "+err.Error())
		}
	}
	read("loadavg", func(b []byte) (err error) { out.Load1, err = parseLoadavg(b); return })
	read("stat", func(b []byte) error {
		cur, err := parseStat(b)
		if err == nil {
			out.CPUPercent = cpuPercent(m.prev, cur)
			m.prev = cur
		}
		return err
	})
	read("meminfo", func(b []byte) (err error) { out.MemUsedBytes, out.MemTotalBytes, err = parseMeminfo(b); return })
	read("net/dev", func(b []byte) (err error) { out.NetRxBytes, out.NetTxBytes, err = parseNetDev(b); return })
	if n, err := openFDs(m.proc); err == nil {
		if limit, err := fdSoftLimit(); err == nil {
			out.FDOpen, out.FDLimit = n, limit
		}
	}
	if errs != nil {
		return out, fmt.Errorf("reading %s: %s", m.proc, strings.Join(errs, "; "))
	}
	return out, nil
}

// openFDs counts this process's open file descriptors, the entries of
// <proc>/self/fd (Linux only; elsewhere the directory is missing).
func openFDs(proc string) (int, error) {
	ents, err := os.ReadDir(proc + "/self/fd")
	return len(ents), err
}

// fdSoftLimit is the soft RLIMIT_NOFILE in force, capped to fit an int32.
func fdSoftLimit() (int, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	return int(min(rl.Cur, 1<<30)), nil
}

func parseLoadavg(b []byte) (float64, error) {
	f := strings.Fields(string(b))
	if len(f) < 1 {
		return 0, fmt.Errorf("empty")
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil || v < 0 || v != v || v > 1e9 {
		return 0, fmt.Errorf("bad load average %q", f[0])
	}
	return v, nil
}

// parseStat reads the aggregate cpu line: user nice system idle iowait irq
// softirq steal [guest guest_nice]. Guest time is already inside user and
// nice, so only the first eight count; idle time is idle + iowait.
func parseStat(b []byte) (cpuTimes, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 5 || f[0] != "cpu" {
		return cpuTimes{}, fmt.Errorf("first line is not the aggregate cpu line")
	}
	var t cpuTimes
	for i, s := range f[1:min(len(f), 9)] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil || v > 1<<56 {
			return cpuTimes{}, fmt.Errorf("bad cpu field %q", s)
		}
		t.total += v
		if i == 3 || i == 4 {
			t.idle += v
		}
	}
	return t, nil
}

// cpuPercent is the busy share of CPU time between two samples, 0..100.
func cpuPercent(prev, cur cpuTimes) float64 {
	if cur.total <= prev.total || cur.idle < prev.idle {
		return 0
	}
	total := float64(cur.total - prev.total)
	busy := total - float64(cur.idle-prev.idle)
	if busy < 0 {
		return 0
	}
	return 100 * busy / total
}

// parseMeminfo gives used = MemTotal - MemAvailable and total, in bytes.
// Kernels older than 3.14 have no MemAvailable; MemFree + Buffers + Cached
// stands in for it there.
func parseMeminfo(b []byte) (used, total uint64, err error) {
	kv := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil || v > 1<<53 {
			return 0, 0, fmt.Errorf("bad value for %s", name)
		}
		if len(f) > 1 && f[1] == "kB" {
			v *= 1024
		}
		kv[name] = v
	}
	total, ok := kv["MemTotal"]
	if !ok {
		return 0, 0, fmt.Errorf("no MemTotal")
	}
	avail, ok := kv["MemAvailable"]
	if !ok {
		avail = kv["MemFree"] + kv["Buffers"] + kv["Cached"]
	}
	if avail > total {
		avail = total
	}
	return total - avail, total, nil
}

// parseNetDev sums the received and sent byte counters of every interface
// but the loopback.
func parseNetDev(b []byte) (rx, tx uint64, err error) {
	lines := strings.Split(string(b), "\n")
	if len(lines) < 2 || !strings.Contains(lines[1], "|") {
		return 0, 0, fmt.Errorf("missing header")
	}
	for _, line := range lines[2:] {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 16 {
			return 0, 0, fmt.Errorf("interface %q: %d fields, want 16", strings.TrimSpace(name), len(f))
		}
		if strings.TrimSpace(name) == "lo" {
			continue
		}
		r, err1 := strconv.ParseUint(f[0], 10, 64)
		t, err2 := strconv.ParseUint(f[8], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, 0, fmt.Errorf("interface %q: bad byte counters", strings.TrimSpace(name))
		}
		rx += r
		tx += t
	}
	return rx, tx, nil
}
