package faults

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
)

// The topology, as compose.yaml draws it, made of processes:
//
//	scanners ──> front (fault proxy) ──> nginx :TLS ── /scanner/* ──> upstream proxy ──> ingest ×2
//	test client ───────────────────────────┘        └─ everything else ─────────────> manager
//	dispatcher ×2 (one leads), backup ──> one PostgreSQL cluster: config, results, jobs
//
// The fault proxies pass bytes through until a fault asks them to reset: the upstream ones make
// nginx answer 502 for the scanner API, the front one resets the scanners' own connections.

// node is one `mipo serve` process with its role, its address and what it said.
type node struct {
	name, role, addr string
	env              []string
	p                *apptest.Process
}

type topology struct {
	t          *testing.T // the top-level test: processes live until it ends
	bin, dir   string     // binaries; the topology's own temporary directory
	data       string     // the shared data directory (secrets), as compose shares .mipo.env
	dbs        *apptest.DBs
	env        []string
	manager    *node
	ingest     [2]*node
	dispatcher [2]*node
	backup     *node
	upstream   [2]*faultProxy
	front      *faultProxy
	nginx      *exec.Cmd
	nginxLog   string
	edge       string // https://front, where scanners and browsers go
	pin        string // the edge certificate's pin, as scanners are told at install
	owner      *apptest.Client
	mu         sync.Mutex
	scanners   []*scannerProc
}

var insecure = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}

// freeAddr is a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string { return apptest.FreeAddr(t) }

// startTopology builds every part and waits until the edge answers for the manager and ingest.
func startTopology(t *testing.T) *topology { return startTopologyOn(t, apptest.Binaries(t)) }

// startTopologyOn is startTopology on the mipo and mipo-scanner binaries in bin (the rolling
// upgrade starts on the previous commit's).
func startTopologyOn(t *testing.T, bin string) *topology {
	nginxBin, err := exec.LookPath("nginx")
	if err != nil {
		if _, e := os.Stat("/usr/sbin/nginx"); e == nil {
			nginxBin = "/usr/sbin/nginx"
		} else {
			t.Fatal("nginx is not installed; `make test-faults` installs it (apt-get install nginx-light)")
		}
	}
	// Ours to open: as root, PostgreSQL and nginx's workers run as other users.
	dir, err := os.MkdirTemp("", "mipo-faults-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() {
		if !t.Failed() {
			os.RemoveAll(dir)
		} else {
			t.Logf("the topology's files are kept in %s", dir)
		}
	})
	top := &topology{t: t, bin: bin, dir: dir, data: filepath.Join(dir, "data")}
	top.dbs = apptest.EmptyDatabases(t)

	out, err := exec.Command(filepath.Join(top.bin, "mipo"), "init", "--data-dir", top.data).CombinedOutput()
	if err != nil {
		t.Fatalf("mipo init: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`pin (sha256//[^)]+)\)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("mipo init printed no pin:\n%s", out)
	}
	top.pin = string(m[1])

	top.env = []string{"MIPO_TLS=off", "MIPO_LOG_FORMAT=text", "MIPO_LOG_LEVEL=info",
		"MIPO_CONFIG_DSN=" + top.dbs.DSN(app.DBConfig), "MIPO_RESULTS_DSN=" + top.dbs.DSN(app.DBResults), "MIPO_JOBS_DSN=" + top.dbs.DSN(app.DBJobs),
		"MIPO_CONFIG_MIGRATE_DSN=" + top.dbs.OwnerDSN(app.DBConfig), "MIPO_RESULTS_MIGRATE_DSN=" + top.dbs.OwnerDSN(app.DBResults),
		"MIPO_JOBS_MIGRATE_DSN=" + top.dbs.OwnerDSN(app.DBJobs),
		"MIPO_TRUSTED_PROXIES=127.0.0.1/32", "MIPO_PROVISIONING_PIN=" + top.pin,
		"MIPO_SCANNER_BINARY=" + filepath.Join(top.bin, "mipo-scanner"),
		"MIPO_SHUTDOWN_TIMEOUT=3s", "MIPO_DISPATCH_INTERVAL=500ms", "MIPO_SCAN_BATCH_TARGET=20s",
	}
	// The default stall window (90 s) outlasts every outage here; a shorter one shows what an
	// outage longer than the window does to the jobs it re-queues.
	if v := os.Getenv("MIPO_FAULTS_STALL_AFTER"); v != "" {
		top.env = append(top.env, "MIPO_JOB_STALL_AFTER="+v)
	}
	backupAddr := freeAddr(t)
	mk := func(name, role string, extra ...string) *node {
		return &node{name: name, role: role, addr: freeAddr(t), env: extra}
	}
	top.manager = mk("manager", app.RoleManager, "MIPO_BACKUP_URL=http://"+backupAddr)
	top.backup = mk("backup", "backup", "MIPO_BACKUP_LISTEN="+backupAddr)
	for i := range 2 {
		top.ingest[i] = mk(fmt.Sprintf("ingest-%d", i+1), "ingest")
		top.dispatcher[i] = mk(fmt.Sprintf("dispatcher-%d", i+1), "dispatcher")
	}
	// The manager migrates first; the others then find the schema in place (they would also
	// wait on the migration lock, but one at a time keeps the log readable).
	top.start(top.manager)
	for _, n := range []*node{top.ingest[0], top.ingest[1], top.dispatcher[0], top.dispatcher[1], top.backup} {
		top.start(n)
	}

	for i := range 2 {
		top.upstream[i] = newFaultProxy(t, top.ingest[i].addr)
	}
	top.startNginx(nginxBin)
	top.owner = top.client()
	r := top.owner.Post("/api/v1/setup", map[string]string{"username": "owner", "password": "correct-horse-battery-staple"})
	if r.Status != http.StatusCreated {
		t.Fatalf("setup through the edge: %d %s", r.Status, r.Body)
	}
	var done struct {
		CSRFToken string `json:"csrf_token"`
	}
	r.JSON(t, &done)
	top.owner.Header.Set("X-CSRF-Token", done.CSRFToken)
	return top
}

// client is an API client that talks to the edge, trusting its self-signed certificate.
func (top *topology) client() *apptest.Client {
	c := apptest.NewClient(top.t, top.edge)
	jar, _ := cookiejar.New(nil)
	c.HTTP = &http.Client{Jar: jar, Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	return c
}

// start runs a node's process and waits until it answers /readyz.
func (top *topology) start(n *node) {
	top.t.Helper()
	env := append(append([]string{}, top.env...), n.env...)
	n.p = apptest.StartProcess(top.t, filepath.Join(top.bin, "mipo"), env,
		"serve", "--role", n.role, "--listen", n.addr, "--data-dir", top.data)
	deadline := time.Now().Add(90 * time.Second)
	for {
		res, err := insecure.Get("http://" + n.addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if !n.p.Running() {
			top.t.Fatalf("%s exited (%v) before it was ready:\n%s", n.name, n.p.Err(), n.p.Output())
		}
		if time.Now().After(deadline) {
			top.t.Fatalf("%s did not become ready in 90 s:\n%s", n.name, n.p.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kill sends SIGKILL to the node's own process, by its PID, and waits for it to end.
func (top *topology) kill(n *node) {
	top.t.Helper()
	if err := n.p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		top.t.Fatalf("kill -9 %s (pid %d): %v", n.name, n.p.Cmd.Process.Pid, err)
	}
	<-n.p.Exited()
}

// stop sends SIGTERM and waits, as an operator's restart does.
func (top *topology) stop(n *node) {
	top.t.Helper()
	n.p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.p.Exited():
	case <-time.After(15 * time.Second):
		n.p.Cmd.Process.Signal(syscall.SIGKILL)
		<-n.p.Exited()
		top.t.Errorf("%s did not stop within 15 s of SIGTERM", n.name)
	}
}

// leader is the dispatcher that says it leads and has not said it stopped leading since.
func (top *topology) leader() *node {
	var found *node
	for _, d := range top.dispatcher {
		if d.p.Running() && leads(d.p.Output()) {
			if found != nil {
				top.t.Fatalf("both dispatchers lead")
			}
			found = d
		}
	}
	return found
}

func leads(out string) bool {
	on := strings.LastIndex(out, "msg=leading module=dispatcher name=dispatcher")
	off := strings.LastIndex(out, "msg=\"no longer leading\" module=dispatcher name=dispatcher")
	return on >= 0 && on > off
}

// startNginx writes the edge's configuration into the topology's directory and runs nginx in
// the foreground with its own pid file and logs: never the system's service or configuration.
func (top *topology) startNginx(bin string) {
	t := top.t
	dir := filepath.Join(top.dir, "nginx")
	for _, d := range []string{"tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi", "logs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o777); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(dir, d), 0o777) // nginx's workers run as nobody
	}
	listen := freeAddr(t)
	conf := fmt.Sprintf(`worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log %[1]s/logs/access.log;
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
    client_max_body_size 32m;
    upstream ingest { server %[2]s max_fails=1 fail_timeout=3s; server %[3]s max_fails=1 fail_timeout=3s; }
    upstream manager { server %[4]s; }
    server {
        listen %[5]s ssl;
        ssl_certificate %[6]s/tls/cert.pem;
        ssl_certificate_key %[6]s/tls/key.pem;
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto https;
        proxy_read_timeout 60s;
        location /scanner/ { proxy_pass http://ingest; proxy_next_upstream error timeout; }
        location / { proxy_pass http://manager; }
    }
}
`, dir, top.upstream[0].Addr(), top.upstream[1].Addr(), top.manager.addr, listen, top.data)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	top.nginxLog = filepath.Join(dir, "logs", "error.log")
	cmd := exec.Command(bin, "-e", top.nginxLog, "-p", dir, "-c", confPath, "-g", "daemon off;")
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	top.nginx = cmd
	t.Cleanup(func() {
		// Our nginx only, by the PID we started: SIGQUIT is its graceful stop.
		cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
		if t.Failed() {
			log, _ := os.ReadFile(top.nginxLog)
			t.Logf("nginx said:\n%s%s", out.String(), tail(string(log), 4000))
		}
	})
	top.front = newFaultProxy(t, listen)
	top.edge = "https://" + top.front.Addr()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := insecure.Get(top.edge + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(top.nginxLog)
			t.Fatalf("nginx exited:\n%s%s", out.String(), log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the edge did not answer /healthz in 30 s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// scannerProc is a registered mipo-scanner with its own config and spool.
type scannerProc struct {
	name, id, conf string
	p              *apptest.Process
}

// addScanner provisions a scanner through the edge (a token from the manager, `mipo-scanner
// register` against the edge's pinned certificate) and runs it.
func (top *topology) addScanner(name string, maxRate int) *scannerProc {
	t := top.t
	var tok struct{ Secret string }
	r := top.owner.Post("/api/v1/scanners/tokens", map[string]any{"name": name})
	if r.Status != http.StatusCreated {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &tok)
	dir := filepath.Join(top.dir, "scanner-"+name)
	s := &scannerProc{name: name, conf: filepath.Join(dir, "config.json")}
	out, err := exec.Command(filepath.Join(top.bin, "mipo-scanner"), "register", "--server", top.edge, "--token", tok.Secret,
		"--pin", top.pin, "--config", s.conf, "--spool", filepath.Join(dir, "spool"),
		"--max-rate", fmt.Sprint(maxRate), "--max-concurrency", "200", "--max-jobs", "2").CombinedOutput()
	if err != nil {
		t.Fatalf("register %s: %v\n%s", name, err, out)
	}
	top.run(s)
	apptest.WaitFor(t, 60*time.Second, name+" online", func() bool {
		var list struct {
			Items []struct{ ID, Name, Status string }
		}
		top.owner.Get("/api/v1/scanners").JSON(t, &list)
		for _, it := range list.Items {
			if it.Name == name && it.Status == "online" {
				s.id = it.ID
				return true
			}
		}
		return false
	})
	top.mu.Lock()
	top.scanners = append(top.scanners, s)
	top.mu.Unlock()
	return s
}

// run starts (or restarts) the scanner's process on its config and spool.
func (top *topology) run(s *scannerProc) {
	// Batches of 5 make every scan a long stream of requests through the edge.
	s.p = apptest.StartProcess(top.t, filepath.Join(top.bin, "mipo-scanner"), nil, "run", "--config", s.conf, "--test-batch-size", "5")
}

// listeners are the truth a scan is counted against: ports held open on 127.0.0.0/8 by this
// test, and ports on the same addresses that were checked to be closed.
type listeners struct {
	addrs  []string
	open   []int
	closed []int
}

// openListeners holds n ports open on each address (the same port numbers on each), plus m
// ports found closed on all of them.
func openListeners(t *testing.T, addrs []string, n, m int) *listeners {
	l := &listeners{addrs: addrs}
	for tries := 0; len(l.open) < n && tries < 20*n; tries++ {
		first, err := net.Listen("tcp4", addrs[0]+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := first.Addr().(*net.TCPAddr).Port
		lns := []net.Listener{first}
		ok := true
		for _, a := range addrs[1:] {
			ln, err := net.Listen("tcp4", fmt.Sprintf("%s:%d", a, port))
			if err != nil {
				ok = false
				break
			}
			lns = append(lns, ln)
		}
		if !ok {
			for _, ln := range lns {
				ln.Close()
			}
			continue
		}
		for _, ln := range lns {
			t.Cleanup(func() { ln.Close() })
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					c.Close()
				}
			}()
		}
		l.open = append(l.open, port)
	}
	if len(l.open) < n {
		t.Fatalf("only %d of %d ports could be opened on %v", len(l.open), n, addrs)
	}
	for len(l.closed) < m {
		ln, err := net.Listen("tcp4", addrs[0]+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		closed := true
		for _, a := range addrs {
			if c, err := net.DialTimeout("tcp4", fmt.Sprintf("%s:%d", a, port), time.Second); err == nil {
				c.Close()
				closed = false
			}
		}
		if closed {
			l.closed = append(l.closed, port)
		}
	}
	return l
}

// truth is every address/port that is open.
func (l *listeners) truth() map[string]bool {
	out := map[string]bool{}
	for _, a := range l.addrs {
		for _, p := range l.open {
			out[fmt.Sprintf("%s/%d", a, p)] = true
		}
	}
	return out
}

func (l *listeners) portList() string {
	var s []string
	for _, p := range append(append([]int{}, l.open...), l.closed...) {
		s = append(s, fmt.Sprint(p))
	}
	return strings.Join(s, ",")
}
