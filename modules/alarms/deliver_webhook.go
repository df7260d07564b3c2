package alarms

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// sendWebhook POSTs the message signed per the Standard Webhooks specification: the signature
// is HMAC-SHA256, keyed with the base64 part of the whsec_ secret, over
// "webhook-id.webhook-timestamp.body", sent as "v1,<base64>". The id is the outbox row's, the
// same on every retry, so a receiver can drop a repeat; the timestamp is the attempt's.
func sendWebhook(ctx context.Context, c *WebhookConfig, secret string, n Notification) Result {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sig, err := sign(secret, n.ID, ts, n.Body)
	if err != nil {
		return Result{Error: err.Error()}
	}
	h := http.Header{}
	h.Set("webhook-id", n.ID)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", sig)
	return post(ctx, c.URL, n.Body, h)
}

func sign(secret, id, ts string, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}
