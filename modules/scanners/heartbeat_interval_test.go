package scanners

import (
	"testing"
	"time"
)

// Scanners are told to heartbeat once a minute, or at half a shorter offline window, so that a
// running scanner is never marked offline between two heartbeats when tests shorten the window.
func TestHeartbeatSecondsFollowsTheOfflineWindow(t *testing.T) {
	for _, c := range []struct {
		window time.Duration
		want   int
	}{
		{OfflineAfter, 60}, // the default: two missed heartbeats
		{time.Hour, 60},
		{2*time.Minute + time.Second, 60},
		{20 * time.Second, 10},
		{9 * time.Second, 4},
		{2 * time.Second, 1},
		{time.Second, 1},
		{100 * time.Millisecond, 1},
	} {
		got := heartbeatSecondsFor(c.window)
		if got != c.want {
			t.Errorf("offline window %s: heartbeat every %d s, want %d", c.window, got, c.want)
		}
		if c.window >= 2*time.Second && time.Duration(got)*time.Second > c.window/2 {
			t.Errorf("offline window %s: a heartbeat every %d s is more than half the window", c.window, got)
		}
	}
}
