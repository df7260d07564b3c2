package alarms

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// slackBody is an incoming-webhook message: a plain-text fallback and one section block with
// severity, component, what happened, and a link back to mipo.
func slackBody(m Message) ([]byte, error) {
	a := m.Data.Alarm
	var b strings.Builder
	fmt.Fprintf(&b, "*%s*\n", slackEscape(headline(m)))
	if m.Type != "test" {
		fmt.Fprintf(&b, "*Severity:* %s   *Component:* %s   *Rule:* %s\n", a.Severity, slackEscape(a.Component), slackEscape(m.Data.RuleName))
		fmt.Fprintf(&b, "*What happened:* %s (seen %d times since %s)\n", slackEscape(a.Summary), a.Count, a.FirstSeenAt.Format("2006-01-02 15:04 MST"))
		if c := m.Data.Transition.Comment; c != "" {
			fmt.Fprintf(&b, "*Comment:* %s\n", slackEscape(c))
		}
	}
	if m.Data.URL != "" {
		fmt.Fprintf(&b, "<%s|Open in mipo>", m.Data.URL)
	}
	return json.Marshal(map[string]any{
		"text":   headline(m),
		"blocks": []any{map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": strings.TrimSpace(b.String())}}},
	})
}

// slackEscape escapes the three characters Slack's mrkdwn gives meaning to.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func sendSlack(ctx context.Context, url string, n Notification) Result {
	body, err := slackBody(n.Message)
	if err != nil {
		return Result{Error: err.Error()}
	}
	return post(ctx, url, body, http.Header{})
}
