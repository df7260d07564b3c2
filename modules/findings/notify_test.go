package findings

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"mipo/app/apptest"
)

// One scan with three unexpected ports sends one message listing all three, through a real
// webhook channel of the alarms module, with a link to the findings page filtered to the scan.
// The scan's completion travels over the event bus, as it does in production.
func TestOneNotificationPerScanWithAllItsFindings(t *testing.T) {
	f := newFixture(t, "manager,dispatcher") // the dispatcher role runs the notifier
	var mu sync.Mutex
	var got []map[string]any
	rx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		json.Unmarshal(body, &m)
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rx.Close)
	r := f.owner.Post("/api/v1/alarm-channels", map[string]any{"name": "hook", "kind": "webhook", "webhook": map[string]any{"url": rx.URL}})
	if r.Status != http.StatusCreated {
		t.Fatalf("channel: %d %s", r.Status, r.Body)
	}
	var ch struct{ ID string }
	r.JSON(t, &ch)
	if r := f.owner.Post("/api/v1/alarm-routes", map[string]any{"name": "findings", "channel_id": ch.ID, "rules": []string{"findings.detected"}}); r.Status != http.StatusCreated {
		t.Fatalf("route: %d %s", r.Status, r.Body)
	}
	f.baseline(map[string]any{"name": "quiet", "scope_kind": "cidr", "scope_ref": "10.8.0.0/24", "mode": "nothing"})
	scan := f.scanResults("10.8.0.0/24", "1-65535", "10.8.0.1:22", "10.8.0.1:3306", "10.8.0.2:6379")
	if err := f.srv.App.Events.Emit(context.Background(), "scan.completed", scan, map[string]any{"template": "t"}); err != nil {
		t.Fatal(err)
	}
	findingsMessages := func() []map[string]any {
		mu.Lock()
		defer mu.Unlock()
		var out []map[string]any
		for _, m := range got {
			if data, _ := m["data"].(map[string]any); data != nil {
				if a, _ := data["alarm"].(map[string]any); a != nil && a["rule_id"] == "findings.detected" {
					out = append(out, m)
				}
			}
		}
		return out
	}
	apptest.WaitFor(t, 60*time.Second, "the findings notification", func() bool { return len(findingsMessages()) > 0 })
	time.Sleep(3 * time.Second) // a second message, if any were sent, would be on its way by now
	ms := findingsMessages()
	if len(ms) != 1 {
		t.Fatalf("want one message for the scan, got %d", len(ms))
	}
	alarm := ms[0]["data"].(map[string]any)["alarm"].(map[string]any)
	summary, _ := alarm["summary"].(string)
	for _, want := range []string{"10.8.0.1:22", "10.8.0.1:3306", "10.8.0.2:6379", "/findings?scan=" + scan} {
		if !strings.Contains(summary, want) {
			t.Errorf("the message does not mention %s: %s", want, summary)
		}
	}
	detail, _ := alarm["detail"].(map[string]any)
	if list, _ := detail["findings"].([]any); len(list) != 3 || detail["link"] != "/findings?scan="+scan {
		t.Errorf("the message's detail must list the three findings and link to them: %v", detail)
	}
	if p := f.findings("scan=" + scan); len(p.Items) != 3 {
		t.Errorf("the link's filter finds %d findings, want 3", len(p.Items))
	}
}
