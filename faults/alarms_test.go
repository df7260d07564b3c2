package faults

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"
)

// The alarms a fault is expected to raise, asserted by rule (modules/alarms/rules.go):
//
//	jobs database down       database.jobs.unreachable opens during the outage (every process
//	                         pings its databases every 5 s) and resolves after it
//	kill -9 leading dispatcher  none: the standby takes the lock within the 30 s grace of
//	                         dispatcher.none.active, so it must not open
//	kill -9 scanner          none: the scanner is back within seconds, well inside the 2 minute
//	                         offline window of scanner.heartbeat.lost, so it must not open
//	edge 502 then resets     none asserted: scanner.heartbeat.lost must not open (the outage is
//	                         shorter than the offline window); the processes behind the edge
//	                         are all well, so no database, dispatcher or ingest rule applies
//	kill -9 ingest           none asserted: each killed process restarts under a new name, and
//	                         ingest.node.silent opens for the old one 60 s after it stopped
//	                         reporting, which may fall inside or after the scan
//
// These read the alarms without failing the test on an unreadable answer: during a fault the
// edge or a database may refuse, and the next look is a second away.

// alarmsNow is the alarm list, or ok false when it cannot be read right now.
func (f *faultRun) alarmsNow() (map[string]alarm, bool) {
	c := f.top.client()
	c.HTTP.Jar = f.top.owner.HTTP.Jar
	req, _ := http.NewRequest(http.MethodGet, f.top.edge+"/api/v1/alarms?limit=500", nil)
	res, err := c.HTTP.Do(req)
	if err != nil {
		return nil, false
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		return nil, false
	}
	var page struct{ Items []alarm }
	if json.Unmarshal(body, &page) != nil {
		return nil, false
	}
	out := map[string]alarm{}
	for _, a := range page.Items {
		out[a.ID] = a
	}
	return out, true
}

// openedSince is the id of an alarm of rule that is open now and was not open in before, or "".
func (f *faultRun) openedSince(before map[string]alarm, rule string) string {
	now, ok := f.alarmsNow()
	if !ok {
		return ""
	}
	for id, a := range now {
		if a.RuleID != rule || a.State == "resolved" {
			continue
		}
		if was, existed := before[id]; !existed || was.State == "resolved" {
			return id
		}
	}
	return ""
}

// expectResolved waits up to within for the alarm to be resolved.
func (f *faultRun) expectResolved(t *testing.T, id, rule string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if now, ok := f.alarmsNow(); ok && now[id].State == "resolved" {
			return time.Since(start)
		}
		time.Sleep(time.Second)
	}
	t.Errorf("the %s alarm (%s) was not resolved within %s of the fault's end", rule, id, within)
	return within
}

// expectNoAlarm fails the test if an alarm of rule opened since before.
func (f *faultRun) expectNoAlarm(t *testing.T, before map[string]alarm, rule, why string) {
	t.Helper()
	now, ok := f.alarmsNow()
	if !ok {
		t.Errorf("the alarms could not be read to check that %s did not open", rule)
		return
	}
	for id, a := range now {
		if a.RuleID != rule {
			continue
		}
		if was, existed := before[id]; !existed || (was.State == "resolved" && a.State != "resolved") {
			t.Errorf("alarm %s opened (%s: %s) although %s", rule, a.State, a.Summary, why)
		}
	}
}
