package alarms

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"mipo/app/apptest"
)

// pidOfPeer finds which local process owns the client end of a TCP connection, by its port.
func pidOfPeer(t *testing.T, remote string) int {
	_, port, _ := net.SplitHostPort(remote)
	out, err := exec.Command("ss", "-tnpH", "sport = :"+port).Output()
	if err != nil {
		t.Fatalf("ss: %v", err)
	}
	m := regexp.MustCompile(`pid=(\d+)`).FindStringSubmatch(string(out))
	if m == nil {
		return 0
	}
	pid, _ := strconv.Atoi(m[1])
	return pid
}

// Two dispatcher processes send the outbox side by side: each notification once. Then one is
// SIGKILLed while it holds a request open: every notification still arrives, and the one it
// was sending arrives again from the other process with the same webhook-id.
func TestTwoDispatchersSendOnceAndSurviveASIGKILL(t *testing.T) {
	f := newFixture(t)
	rx := newWebhookReceiver(t)
	ch := f.channel(map[string]any{"name": "hook", "kind": "webhook", "webhook": map[string]any{"url": rx.URL}})
	rx.secret = ch.SigningSecret
	bin := apptest.Binaries(t)
	env := []string{"MIPO_CONFIG_DSN=" + f.srv.DBs.DSN("config"), "MIPO_RESULTS_DSN=" + f.srv.DBs.DSN("results"),
		"MIPO_JOBS_DSN=" + f.srv.DBs.DSN("jobs"), "MIPO_TLS=off", "MIPO_LOG_FORMAT=text",
		"MIPO_SECRET_KEY=" + f.srv.App.Config.Value("MIPO_SECRET_KEY")}
	var ds []*apptest.Process
	for i := range 2 {
		ds = append(ds, apptest.StartProcess(t, filepath.Join(bin, "mipo"), env, "serve", "--role=dispatcher",
			"--listen", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), fmt.Sprint(i))))
	}
	// Both must be sending before the alarms fire, or one would take everything.
	time.Sleep(3 * time.Second)

	fire := func(prefix string, n int) {
		for i := range n {
			f.apply(ev("scanner.offline", fmt.Sprintf("%s-%d", prefix, i), nil))
		}
	}
	fire("a", 20)
	apptest.WaitFor(t, 30*time.Second, "20 notifications", func() bool { return len(rx.all()) >= 20 })
	time.Sleep(2 * time.Second) // a duplicate, if there were one, would arrive now
	seen := map[string]int{}
	for _, g := range rx.all() {
		seen[g.ID]++
	}
	if len(seen) != 20 || len(rx.all()) != 20 {
		t.Fatalf("with two dispatchers each notification must arrive once: %d requests, %d ids", len(rx.all()), len(seen))
	}

	// Hold every request open, fire ten more, and kill a process that is mid-send.
	hold := make(chan struct{})
	rx.mu.Lock()
	rx.hold = hold
	rx.mu.Unlock()
	fire("b", 10)
	var victim *apptest.Process
	var victimIDs []string
	apptest.WaitFor(t, 30*time.Second, "a request in flight from each process", func() bool {
		owners := map[int][]string{}
		for _, g := range rx.all()[20:] {
			owners[pidOfPeer(t, g.Header.Get("X-Remote"))] = append(owners[pidOfPeer(t, g.Header.Get("X-Remote"))], g.ID)
		}
		for _, p := range ds {
			if ids := owners[p.Cmd.Process.Pid]; len(ids) > 0 {
				victim, victimIDs = p, ids
			}
		}
		return victim != nil
	})
	if err := victim.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-victim.Exited()
	close(hold)
	// All 30 ids may already have arrived (both processes had requests held open), so wait for
	// the survivor's resends too: they come only once the killed process's lease runs out.
	count := map[string]int{}
	resent := func() bool {
		count = map[string]int{}
		for _, g := range rx.all() {
			count[g.ID]++
		}
		for _, id := range victimIDs {
			if count[id] < 2 {
				return false
			}
		}
		return len(count) == 30
	}
	deadline := time.Now().Add(60 * time.Second)
	for !resent() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if len(count) != 30 {
		t.Fatalf("every notification must arrive after the kill: %d of 30 ids did", len(count))
	}
	for _, id := range victimIDs {
		if count[id] < 2 {
			t.Fatalf("%s was in flight in the killed process; the survivor must send it again under the same id (got it %d times)", id, count[id])
		}
	}
	// The receiver answers before the sender marks the row delivered: wait for the last mark.
	var pending int
	apptest.WaitFor(t, 30*time.Second, "every notification marked delivered", func() bool {
		f.svc.DB.Jobs.QueryRow(t.Context(), `SELECT count(*) FROM notification_outbox WHERE state <> 'delivered'`).Scan(&pending)
		return pending == 0
	})
	if rx.bad != 0 {
		t.Fatalf("%d notifications failed verification", rx.bad)
	}
	t.Logf("killed pid %d with %d in flight; %d requests for 30 notifications", victim.Cmd.Process.Pid, len(victimIDs), len(rx.all()))
}
