package alarms

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"mipo/app"
)

// Channel settings come straight from a request body: whatever it holds, validation answers
// with a field error or accepts it, never panics, and what it accepts keeps no secret in the
// stored config.
func FuzzChannelSettings(f *testing.F) {
	f.Add(`{"name":"a","kind":"webhook","webhook":{"url":"https://h/x"}}`)
	f.Add(`{"name":"m","kind":"email","email":{"host":"smtp","port":587,"security":"starttls","username":"u","password":"p","from":"a@b","to":["c@d"]}}`)
	f.Add(`{"name":"s","kind":"syslog","syslog":{"address":"[::1]:6514","transport":"tls","ca_pem":"-----BEGIN CERTIFICATE-----"}}`)
	f.Add(`{"name":"k","kind":"slack","slack":{"url":"https://hooks.slack.com/services/T/B/X"}}`)
	box, err := app.NewSecretBox(make([]byte, 32))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var in ChannelInput
		if json.Unmarshal([]byte(body), &in) != nil {
			return
		}
		config, sealed, _, err := settingsOf(in.Kind, in, box, "")
		if err != nil {
			if e, ok := err.(*app.Error); !ok || e.Status != 400 || e.Field == "" {
				t.Fatalf("want a 400 naming a field, got %v", err)
			}
			return
		}
		var stored struct {
			Password string `json:"password"`
			URL      string `json:"url"`
		}
		if err := json.Unmarshal(config, &stored); err != nil {
			t.Fatalf("stored config is not JSON: %s", config)
		}
		if stored.Password != "" || (in.Kind == KindSlack && stored.URL != "") {
			t.Fatalf("a secret is in the stored config: %s", config)
		}
		if (in.Kind == KindWebhook || in.Kind == KindSlack) && sealed == "" {
			t.Fatal("no sealed secret")
		}
	})
}

// Alarm text ends up in syslog structured data: whatever an event says, the line parses as
// RFC 5424 and each parameter reads back as it was.
func FuzzSyslogStructuredData(f *testing.F) {
	f.Add("scanner.offline:s1", "edge-1", "a summary")
	f.Add(`k"]\`, `sub]"\ject`, "line\nbreak")
	f.Fuzz(func(t *testing.T, key, component, summary string) {
		if strings.ContainsAny(key+component, "\n\r") {
			return // keys and components come from mipo's own rules and ids, never with line breaks
		}
		a := &Alarm{ID: "id", Key: key, RuleID: "r", Component: component, Severity: SeverityMajor, State: StateOpen, Summary: summary, Count: 3}
		m := Message{Type: "alarm.opened", Data: MessageData{Alarm: a, Transition: Transition{Kind: TransitionOpened}}}
		line := syslogLine(m, "mipo", "host", time.Unix(0, 0))
		if strings.ContainsAny(summary, "\n\r") {
			return // the free-form MSG may hold a line break; framing is by octet count
		}
		got := parse5424(t, line)
		if got.params["key"] != key || got.params["component"] != component || got.sdID != sdID {
			t.Fatalf("round trip: key %q→%q, component %q→%q in %q", key, got.params["key"], component, got.params["component"], line)
		}
	})
}
