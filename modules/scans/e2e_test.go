package scans

import (
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/results"
)

// These tests run real processes: mipo-scanner binaries scanning listeners on 127.0.0.1 and
// ::1, and `mipo serve --role=dispatcher` processes taking over from each other.

// realScanner provisions a scanner with a token and runs the real mipo-scanner.
func (f *fixture) realScanner(name string, groups ...string) string {
	f.t.Helper()
	bin := apptest.Binaries(f.t)
	var tok struct{ Secret string }
	r := f.owner.Post("/api/v1/scanners/tokens", map[string]any{"name": name, "group_ids": groups})
	if r.Status != http.StatusCreated {
		f.t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	r.JSON(f.t, &tok)
	dir := f.t.TempDir()
	conf := filepath.Join(dir, "config.json")
	out, err := exec.Command(filepath.Join(bin, "mipo-scanner"), "register", "--server", f.srv.URL, "--token", tok.Secret,
		"--config", conf, "--spool", filepath.Join(dir, "spool"), "--insecure-http").CombinedOutput()
	if err != nil {
		f.t.Fatalf("register: %v\n%s", err, out)
	}
	apptest.StartProcess(f.t, filepath.Join(bin, "mipo-scanner"), nil, "run", "--config", conf, "--insecure-http")
	var id string
	apptest.WaitFor(f.t, 30*time.Second, name+" online", func() bool {
		var list struct {
			Items []struct{ ID, Name, Status string }
		}
		f.owner.Get("/api/v1/scanners").JSON(f.t, &list)
		for _, s := range list.Items {
			if s.Name == name && s.Status == "online" {
				id = s.ID
				return true
			}
		}
		return false
	})
	return id
}

// runScan launches a template and watches its progress until it completes.
func (f *fixture) runScan(tmpl string) string {
	f.t.Helper()
	s := f.launch(map[string]any{"template_id": tmpl})[0]
	last := -1.0
	apptest.WaitFor(f.t, 90*time.Second, "the scan to complete", func() bool {
		d := f.detail(s.ID)
		if d.Progress.Percent < last {
			f.t.Fatalf("progress went back from %.1f to %.1f", last, d.Progress.Percent)
		}
		last = d.Progress.Percent
		if d.Scan.Status == Failed || d.Scan.Status == Cancelled {
			f.t.Fatalf("the scan ended %s: %s", d.Scan.Status, d.Scan.StatusDetail)
		}
		return d.Scan.Status == Completed
	})
	if d := f.detail(s.ID); d.Progress.Percent != 100 || d.Scan.Completion != 100 || d.Progress.JobsDone != 2 {
		f.t.Fatalf("a completed scan at %.1f%% with %d jobs done", d.Progress.Percent, d.Progress.JobsDone)
	}
	return s.ID
}

// Two real scanners in a group scan listeners on 127.0.0.1 and ::1; one listener closes and
// another opens; the second scan's diff shows exactly that, from each scanner's point of view.
func TestTwoScannersInAGroupSeeOneOpenedAndOneClosedPort(t *testing.T) {
	f := newFixtureWith(t, app.SystemClock{}, map[string]string{"MIPO_DISPATCH_INTERVAL": "200ms"})
	group := f.create("/api/v1/scanner-groups", map[string]any{"name": "loopback-views"})
	a, b := f.realScanner("view-a", group), f.realScanner("view-b", group)

	stays4, stays6 := apptest.Listen(t, "tcp4", "127.0.0.1:0"), apptest.Listen(t, "tcp6", "[::1]:0")
	closing := apptest.Listen(t, "tcp4", "127.0.0.1:0")
	opening := apptest.Listen(t, "tcp6", "[::1]:0")
	later := apptest.Port(opening)
	opening.Close() // closed during the first scan, opened for the second
	ports := fmt.Sprintf("%d,%d,%d,%d", apptest.Port(stays4), apptest.Port(stays6), apptest.Port(closing), later)
	tmpl := f.template("loopback", "127.0.0.1/32,::1/128", ports, "vantage", group)

	first := f.runScan(tmpl)
	closing.Close()
	apptest.Listen(t, "tcp6", fmt.Sprintf("[::1]:%d", later))
	second := f.runScan(tmpl)

	var d results.Diff
	r := f.owner.Get("/api/v1/scans/" + second + "/diff")
	r.JSON(t, &d)
	if r.Status != http.StatusOK || d.From != first || d.To != second {
		t.Fatalf("diff: %d %s", r.Status, r.Body)
	}
	for _, s := range []string{a, b} {
		var opened, closed []string
		for _, c := range d.Opened {
			if c.ScannerID == s {
				opened = append(opened, fmt.Sprintf("%s:%d", c.Address, c.Port))
			}
		}
		for _, c := range d.Closed {
			if c.ScannerID == s {
				closed = append(closed, fmt.Sprintf("%s:%d", c.Address, c.Port))
			}
		}
		wantOpened, wantClosed := fmt.Sprintf("::1:%d", later), fmt.Sprintf("127.0.0.1:%d", apptest.Port(closing))
		if len(opened) != 1 || opened[0] != wantOpened || len(closed) != 1 || closed[0] != wantClosed {
			t.Fatalf("scanner %s: opened %v closed %v; want exactly %s opened and %s closed", s, opened, closed, wantOpened, wantClosed)
		}
	}
	if len(d.Opened) != 2 || len(d.Closed) != 2 {
		t.Fatalf("the diff holds more than one change per scanner: %+v", d)
	}
	var v results.Vantage
	f.owner.Get("/api/v1/scans/"+second+"/vantage").JSON(t, &v)
	if len(v.Scanners) != 2 || len(v.Rows) != 3 || v.Partial != 0 {
		t.Fatalf("both vantage points see the same three open ports: %+v", v)
	}
}

// Two dispatcher processes: one leads, the other waits; killing the leader hands the work to
// the standby within seconds, and a scan launched afterwards is dispatched.
func TestStandbyDispatcherTakesOverWhenTheLeaderIsKilled(t *testing.T) {
	f := newFixtureWith(t, app.SystemClock{}, map[string]string{"MIPO_ROLE": "manager,ingest"})
	bin := apptest.Binaries(t)
	env := []string{"MIPO_CONFIG_DSN=" + f.srv.DBs.DSN("config"), "MIPO_RESULTS_DSN=" + f.srv.DBs.DSN("results"),
		"MIPO_JOBS_DSN=" + f.srv.DBs.DSN("jobs"), "MIPO_TLS=off", "MIPO_LOG_FORMAT=text", "MIPO_DISPATCH_INTERVAL=200ms"}
	var ds []*apptest.Process
	for i := range 2 {
		ds = append(ds, apptest.StartProcess(t, filepath.Join(bin, "mipo"), env, "serve", "--role=dispatcher",
			"--listen", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), fmt.Sprint(i))))
	}
	leading := func(p *apptest.Process) bool {
		return strings.Contains(p.Output(), `msg=leading module=dispatcher name=dispatcher`)
	}
	var leader, standby *apptest.Process
	apptest.WaitFor(t, 60*time.Second, "one dispatcher to lead", func() bool {
		switch {
		case leading(ds[0]) && leading(ds[1]):
			t.Fatal("both dispatchers lead")
		case leading(ds[0]):
			leader, standby = ds[0], ds[1]
		case leading(ds[1]):
			leader, standby = ds[1], ds[0]
		}
		return leader != nil
	})
	time.Sleep(2 * time.Second)
	if leading(standby) {
		t.Fatal("the standby leads beside the leader")
	}
	s := f.scanner("pool-scanner", 1000)
	tmpl := f.template("after-kill", "127.0.0.1/32", "22", "pool", s.id)
	if err := leader.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	<-leader.Exited()
	apptest.WaitFor(t, 15*time.Second, "the standby to take over", func() bool { return leading(standby) })
	t.Logf("the standby led %s after the leader was killed", time.Since(killed).Round(100*time.Millisecond))
	scan := f.launch(map[string]any{"template_id": tmpl})[0]
	apptest.WaitFor(t, 15*time.Second, "the scan to be dispatched by the new leader", func() bool {
		return f.detail(scan.ID).Scan.Status == Running
	})
}
