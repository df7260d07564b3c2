package faults

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
)

// TestLoad runs MIPO_FAULTS_LOAD_SCANNERS (1,000) simulated scanners in this process for
// MIPO_FAULTS_LOAD_FOR (10 minutes) against the topology, through the nginx edge over TLS on
// loopback. Each speaks the real scanner protocol: registered with its own provisioning token,
// it heartbeats every 60 s, leases its job of one real vantage scan (every scanner of the group
// gets the whole scope, so each streams results of its own), streams result batches every
// MIPO_FAULTS_LOAD_EVERY (10 s, 50 results each), reports progress every 30 s, and completes the
// job when the load ends. A batch not acknowledged is sent again, as the spool does. Meanwhile
// the owner's UI pages are fetched through the edge every 3 s. It prints one line:
//
//	load: scanners N for D: results sent N stored N lost N duplicated N (N/s) | route p50/p99 … | process cpu/rss …
//
// and fails on one result lost or duplicated, one 5xx, a UI page whose p99 is 500 ms or more,
// or a scan that does not complete once every scanner completed its job.
func TestLoad(t *testing.T) {
	t.Parallel() // beside TestNoPhoneHome's ten minutes, after the sequential tests
	n := envInt("MIPO_FAULTS_LOAD_SCANNERS", 1000)
	loadFor := envDuration("MIPO_FAULTS_LOAD_FOR", 10*time.Minute)
	every := envDuration("MIPO_FAULTS_LOAD_EVERY", 10*time.Second)
	const perBatch = 50

	started := time.Now()
	top := startTopology(t)
	t.Logf("topology up in %s", time.Since(started).Round(time.Second))
	lat := newLatencies()

	// The simulators share one pool of connections to the edge: a thousand scanners' own TLS
	// connections would exceed the edge's 1,024 worker connections (each request also holds
	// one to its upstream), which sizes the edge, not mipo.
	conns := min(n, 256)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, MaxConnsPerHost: conns, MaxIdleConnsPerHost: conns}}

	// A group for the vantage scan; every token joins its scanner to it.
	r := top.owner.Post("/api/v1/scanner-groups", map[string]any{"name": "load", "scanner_ids": []string{}})
	if r.Status != http.StatusCreated {
		t.Fatalf("scanner group: %d %s", r.Status, r.Body)
	}
	var group struct{ ID string }
	r.JSON(t, &group)

	sims := make([]*loadSim, n)
	regStart := time.Now()
	var wg sync.WaitGroup
	var regErr atomic.Value
	next := atomic.Int64{}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || regErr.Load() != nil {
					return
				}
				s, err := registerSim(top, client, lat, group.ID, i)
				if err != nil {
					regErr.Store(err)
					return
				}
				sims[i] = s
			}
		}()
	}
	wg.Wait()
	if err := regErr.Load(); err != nil {
		t.Fatalf("registering the simulated scanners: %v", err)
	}
	t.Logf("%d simulated scanners registered and heartbeating in %s", n, time.Since(regStart).Round(time.Second))

	// One vantage scan over a loopback scope no listener holds: the simulators report what
	// they are told to, and the scope is large enough that no scanner runs out of it.
	create := func(path string, body map[string]any) string {
		r := top.owner.Post(path, body)
		if r.Status != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", path, r.Status, r.Body)
		}
		var v struct{ ID string }
		r.JSON(t, &v)
		return v.ID
	}
	subnet := create("/api/v1/subnets", map[string]any{"name": "load-net", "cidr": "127.200.0.0/16"})
	ports := create("/api/v1/port-lists", map[string]any{"name": "load-ports", "ports": "1-1000"})
	tmpl := create("/api/v1/templates", map[string]any{"name": "load", "subnets": []string{subnet}, "port_lists": []string{ports},
		"scanners": map[string]any{"mode": "vantage", "scanner_group_ids": []string{group.ID}},
		"timing":   map[string]any{"rate_limit": 1000, "timeout_ms": 1000, "retries": 1, "max_duration_seconds": int((loadFor + 15*time.Minute).Seconds())}})
	r = top.owner.Post("/api/v1/scans", map[string]any{"template_id": tmpl})
	if r.Status != http.StatusCreated {
		t.Fatalf("launch: %d %s", r.Status, r.Body)
	}
	var launched struct{ Items []struct{ ID string } }
	r.JSON(t, &launched)
	scanID := launched.Items[0].ID
	f := &faultRun{top: top}
	f.results = top.dbs.Pool(t, app.DBResults)
	apptest.WaitFor(t, 2*time.Minute, "the dispatcher to cut the scan's jobs", func() bool {
		d, ok := f.detail(t, scanID)
		return ok && d.Progress.JobsTotal >= n
	})

	procs := top.loadProcesses()
	before := map[string]procStat{}
	for name, pid := range procs {
		before[name] = readProcStat(pid)
	}

	// The UI's pages, as a browser left open on them would fetch them.
	pages := []string{"/", "/api/v1/scanners", "/api/v1/scans", "/api/v1/health/overview", "/api/v1/scans/" + scanID}
	stopProbe := make(chan struct{})
	probeDone := make(chan struct{})
	go func() {
		defer close(probeDone)
		tick := time.NewTicker(3 * time.Second)
		defer tick.Stop()
		for {
			for _, p := range pages {
				req, _ := http.NewRequest(http.MethodGet, top.edge+p, nil)
				for k, v := range top.owner.Header {
					req.Header[k] = v
				}
				lat.do(top.owner.HTTP, "GET "+routeOf(p), req)
			}
			select {
			case <-stopProbe:
				return
			case <-tick.C:
			}
		}
	}()

	loadStart := time.Now()
	deadline := loadStart.Add(loadFor)
	for _, s := range sims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.run(t, client, lat, deadline, every, perBatch)
		}()
	}
	wg.Wait()
	elapsed := time.Since(loadStart)
	close(stopProbe)
	<-probeDone

	after := map[string]procStat{}
	for name, pid := range procs {
		after[name] = readProcStat(pid)
	}

	var d scanDetail
	apptest.WaitFor(t, 2*time.Minute, "the load's scan to end", func() bool {
		var ok bool
		d, ok = f.detail(t, scanID)
		return ok && d.Scan.Status != "pending" && d.Scan.Status != "running"
	})

	var sent, ackd int64
	for _, s := range sims {
		sent += s.sent
		ackd += int64(s.batches)
	}
	ledger := f.count(t, `SELECT COALESCE(sum(results), 0) FROM result_batches WHERE scan_id = $1`, scanID)
	stored := f.count(t, `SELECT count(*) FROM observations WHERE scan_id = $1`, scanID)
	distinct := f.count(t, `SELECT count(DISTINCT (job_id, address, port)) FROM observations WHERE scan_id = $1`, scanID)
	lost, duplicated := int(sent)-distinct, stored-distinct

	var parts []string
	for _, route := range lat.routes() {
		parts = append(parts, lat.summary(route))
	}
	var procParts []string
	for _, name := range mapsKeys(procs) {
		b, a := before[name], after[name]
		procParts = append(procParts, fmt.Sprintf("%s %.1fs/%dMB", name, a.cpu-b.cpu, a.hwmKB/1024))
	}
	line := fmt.Sprintf("load: scanners %d for %s: results sent %d stored %d lost %d duplicated %d (%.0f/s, ledger %d, scan %s) | %s | cpu/peak rss %s",
		n, elapsed.Round(time.Second), sent, stored, lost, duplicated, float64(stored)/elapsed.Seconds(), ledger, d.Scan.Status,
		strings.Join(parts, ", "), strings.Join(procParts, ", "))
	fmt.Println(line)
	t.Log(line)

	if sent == 0 {
		t.Error("no results were sent")
	}
	if lost != 0 || duplicated != 0 || ledger != int(sent) {
		t.Errorf("sent %d, stored %d (%d distinct), ledger %d: results lost or duplicated", sent, stored, distinct, ledger)
	}
	for _, route := range lat.routes() {
		if c := lat.fivexx(route); c > 0 {
			t.Errorf("%s answered 5xx %d times", route, c)
		}
		if e := lat.errors(route); e > 0 {
			t.Errorf("%s failed %d times (transport errors or unexpected statuses): %s", route, e, lat.firstError(route))
		}
		if strings.HasPrefix(route, "GET ") {
			if p99 := lat.pct(route, 0.99); p99 >= 500*time.Millisecond {
				t.Errorf("the UI's %s took %s at p99 under load, want under 500 ms", route, p99.Round(time.Millisecond))
			}
		}
	}
	if d.Scan.Status != "completed" || d.Scan.JobsFailed > 0 {
		t.Errorf("the load's scan ended %s (%s), %d jobs failed", d.Scan.Status, d.Scan.StatusDetail, d.Scan.JobsFailed)
	}
	for name, pid := range procs {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
			t.Errorf("%s (pid %d) is gone after the load", name, pid)
		}
	}
}

func mapsKeys(m map[string]int) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// routeOf names a probed page by its route: a scan's page is one route whatever its id.
func routeOf(p string) string {
	if strings.HasPrefix(p, "/api/v1/scans/") {
		return "/api/v1/scans/:id"
	}
	return p
}

// loadSim is one simulated scanner: its key, its job, and what it had acknowledged.
type loadSim struct {
	i        int
	key, job string
	base     string
	batches  int
	sent     int64
}

func registerSim(top *topology, client *http.Client, lat *latencies, group string, i int) (*loadSim, error) {
	name := fmt.Sprintf("load-%04d", i)
	r := top.owner.Post("/api/v1/scanners/tokens", map[string]any{"name": name, "group_ids": []string{group}})
	if r.Status != http.StatusCreated {
		return nil, fmt.Errorf("token %s: %d %s", name, r.Status, r.Body)
	}
	var tok struct{ Secret string }
	if err := json.Unmarshal(r.Body, &tok); err != nil {
		return nil, err
	}
	s := &loadSim{i: i, base: top.edge}
	var reg struct {
		APIKey string `json:"api_key"`
	}
	body, _ := json.Marshal(map[string]any{"token": tok.Secret, "hostname": name, "version": "load", "capacity": loadCapacity})
	req, _ := http.NewRequest(http.MethodPost, s.base+"/scanner/v1/register", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	status, resBody := lat.do(client, "register", req)
	if status != http.StatusOK {
		return nil, fmt.Errorf("register %s: %d %s", name, status, resBody)
	}
	if err := json.Unmarshal(resBody, &reg); err != nil {
		return nil, err
	}
	s.key = reg.APIKey
	if st, b := s.post(client, lat, "heartbeat", "/scanner/v1/heartbeat", loadHeartbeat); st != http.StatusOK {
		return nil, fmt.Errorf("heartbeat %s: %d %s", name, st, b)
	}
	return s, nil
}

var (
	loadCapacity  = map[string]int{"max_concurrency": 100, "max_rate": 1000, "fd_limit": 1024}
	loadHeartbeat = map[string]any{"version": "load", "hostname": "load", "capacity": loadCapacity,
		"metrics": map[string]any{"load1": 0.1}, "active_jobs": []string{}}
)

func (s *loadSim) post(client *http.Client, lat *latencies, route, path string, v any) (int, []byte) {
	body, _ := json.Marshal(v)
	req, _ := http.NewRequest(http.MethodPost, s.base+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if s.key != "" {
		req.Header.Set("Authorization", "Bearer "+s.key)
	}
	return lat.do(client, route, req)
}

// run leases the scanner's job, then streams batches until the deadline and completes it.
func (s *loadSim) run(t *testing.T, client *http.Client, lat *latencies, deadline time.Time, every time.Duration, perBatch int) {
	// Spread the fleet over the interval, as scanners started at different times are.
	time.Sleep(time.Duration(rand.Int64N(int64(every))))
	lastBeat, lastProgress := time.Now(), time.Now()
	for s.job == "" {
		st, b := s.post(client, lat, "lease", "/scanner/v1/jobs/lease", map[string]int{"wait_seconds": 0})
		if st == http.StatusOK {
			var lease struct{ Job struct{ ID string } }
			json.Unmarshal(b, &lease)
			s.job = lease.Job.ID
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("load-%04d never leased its job (last answer %d %s)", s.i, st, b)
			return
		}
		time.Sleep(2 * time.Second)
	}
	beatEvery := time.Duration(55+rand.IntN(10)) * time.Second
	for seq := 1; ; seq++ {
		if time.Since(lastBeat) >= beatEvery {
			hb := maps(loadHeartbeat)
			hb["active_jobs"] = []string{s.job}
			s.post(client, lat, "heartbeat", "/scanner/v1/heartbeat", hb)
			lastBeat = time.Now()
		}
		if time.Since(lastProgress) >= 30*time.Second {
			s.post(client, lat, "progress", "/scanner/v1/jobs/"+s.job+"/progress",
				map[string]int64{"hosts_done": 0, "hosts_total": 65536, "ports_probed": s.sent, "ports_total": 65536000})
			lastProgress = time.Now()
		}
		rs := make([]map[string]any, perBatch)
		at := time.Now().UTC().Format(time.RFC3339Nano)
		for i := range rs {
			idx := (seq-1)*perBatch + i
			off := idx / 1000
			rs[i] = map[string]any{"address": fmt.Sprintf("127.200.%d.%d", off>>8, off&255), "port": 1 + idx%1000, "observed_at": at, "rtt_us": 50}
		}
		// Until acknowledged, as the scanner's spool does; the ledger makes a resend harmless.
		for attempt := 0; ; attempt++ {
			st, b := s.post(client, lat, "results", "/scanner/v1/jobs/"+s.job+"/results", map[string]any{"batch": seq, "results": rs})
			if st == http.StatusOK {
				break
			}
			if attempt >= 10 || (st >= 400 && st < 500 && st != http.StatusTooManyRequests) {
				t.Errorf("load-%04d batch %d not acknowledged: %d %s", s.i, seq, st, b)
				return
			}
			time.Sleep(time.Second)
		}
		s.batches = seq
		s.sent += int64(perBatch)
		if time.Now().Add(every).After(deadline) {
			break
		}
		time.Sleep(every)
	}
	for attempt := 0; ; attempt++ {
		st, b := s.post(client, lat, "complete", "/scanner/v1/jobs/"+s.job+"/complete",
			map[string]any{"status": "done", "hosts_done": 65536, "ports_probed": 65536000, "batches": s.batches})
		if st == http.StatusOK {
			return
		}
		if attempt >= 10 {
			t.Errorf("load-%04d could not complete its job: %d %s", s.i, st, b)
			return
		}
		time.Sleep(time.Second)
	}
}

func maps(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// latencies holds every request's time per route, with its failures.
type latencies struct {
	mu    sync.Mutex
	by    map[string][]time.Duration
	five  map[string]int
	errs  map[string]int
	first map[string]string
}

func newLatencies() *latencies {
	return &latencies{by: map[string][]time.Duration{}, five: map[string]int{}, errs: map[string]int{}, first: map[string]string{}}
}

// do sends the request and records its time under route. A 2xx is an answer; a 204 from a
// lease with nothing to give is one too. Anything else counts as an error of the route.
func (l *latencies) do(client *http.Client, route string, req *http.Request) (int, []byte) {
	start := time.Now()
	res, err := client.Do(req)
	var body []byte
	status := 0
	if err == nil {
		body, err = io.ReadAll(res.Body)
		res.Body.Close()
		status = res.StatusCode
	}
	took := time.Since(start)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.by[route] = append(l.by[route], took)
	if status >= 500 {
		l.five[route]++
	}
	if err != nil || status < 200 || status >= 300 {
		l.errs[route]++
		if _, ok := l.first[route]; !ok {
			if err != nil {
				l.first[route] = err.Error()
			} else {
				l.first[route] = strconv.Itoa(status) + " " + string(body[:min(len(body), 200)])
			}
		}
	}
	return status, body
}

func (l *latencies) routes() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for r := range l.by {
		out = append(out, r)
	}
	order := map[string]int{"register": 0, "heartbeat": 1, "lease": 2, "results": 3, "progress": 4, "complete": 5}
	slices.SortFunc(out, func(a, b string) int {
		oa, okA := order[a]
		ob, okB := order[b]
		switch {
		case okA && okB:
			return oa - ob
		case okA:
			return -1
		case okB:
			return 1
		}
		return strings.Compare(a, b)
	})
	return out
}

func (l *latencies) pct(route string, p float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	ds := slices.Clone(l.by[route])
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[int(float64(len(ds)-1)*p)]
}

func (l *latencies) summary(route string) string {
	l.mu.Lock()
	count := len(l.by[route])
	l.mu.Unlock()
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 0, 64) }
	return fmt.Sprintf("%s %d %s/%sms", strings.TrimPrefix(route, "GET "), count, ms(l.pct(route, 0.5)), ms(l.pct(route, 0.99)))
}

func (l *latencies) fivexx(route string) int { l.mu.Lock(); defer l.mu.Unlock(); return l.five[route] }
func (l *latencies) errors(route string) int { l.mu.Lock(); defer l.mu.Unlock(); return l.errs[route] }
func (l *latencies) firstError(route string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.first[route]
}

// loadProcesses names the PID of every process the topology started: the mipo nodes and nginx
// (its master; its workers are counted with it through /proc/<pid>/task/<pid>/children).
func (top *topology) loadProcesses() map[string]int {
	out := map[string]int{}
	for _, n := range []*node{top.manager, top.ingest[0], top.ingest[1], top.dispatcher[0], top.dispatcher[1], top.backup} {
		out[n.name] = n.p.Cmd.Process.Pid
	}
	out["nginx"] = top.nginx.Process.Pid
	return out
}

type procStat struct {
	cpu   float64 // user+system seconds, with its children's when they are nginx workers
	hwmKB int64   // peak resident set
}

// readProcStat reads a process's CPU seconds (/proc/<pid>/stat, clock ticks of 1/100 s, the
// value Linux uses on every platform Go supports) and its peak RSS (VmHWM in /proc/<pid>/status),
// adding its children's (nginx's workers) CPU and taking the largest peak.
func readProcStat(pid int) procStat {
	var st procStat
	pids := []int{pid}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid)); err == nil {
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				pids = append(pids, c)
			}
		}
	}
	for _, p := range pids {
		if b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "stat")); err == nil {
			s := string(b)
			if i := strings.LastIndexByte(s, ')'); i >= 0 {
				fields := strings.Fields(s[i+1:])
				// After the command: state is field 3, utime 14 and stime 15 (1-based).
				if len(fields) > 12 {
					u, _ := strconv.ParseFloat(fields[11], 64)
					sy, _ := strconv.ParseFloat(fields[12], 64)
					st.cpu += (u + sy) / 100
				}
			}
		}
		if b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "status")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
					st.hwmKB = max(st.hwmKB, kb)
				}
			}
		}
	}
	return st
}
