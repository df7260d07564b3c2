package main

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that only moves when a waiter sleeps on it.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return nil
}

// Over any window, the bucket grants at most burst + rate x window tokens.
func TestTokenBucketNeverExceedsRate(t *testing.T) {
	for _, rate := range []float64{1, 50, 1000, 20000} {
		clk := &fakeClock{now: time.Unix(1e9, 0)}
		b := newTokenBucket(rate)
		b.now, b.sleep = clk.Now, clk.Sleep
		start := clk.Now()
		n := int(rate*3) + 10
		for i := 0; i < n; i++ {
			if err := b.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		elapsed := clk.Now().Sub(start).Seconds()
		allowed := b.burst + rate*elapsed
		if float64(n) > allowed+1e-6 {
			t.Fatalf("rate %v: %d tokens in %.4fs, at most %.1f allowed", rate, n, elapsed, allowed)
		}
		// And it is not needlessly slow: within one token of the rate.
		if float64(n) < allowed-1-1e-6 {
			t.Fatalf("rate %v: only %d tokens in %.4fs, %.1f allowed", rate, n, elapsed, allowed)
		}
	}
}

// After idling, the bucket refills only up to its burst.
func TestTokenBucketBurstIsCapped(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1e9, 0)}
	b := newTokenBucket(1000) // burst 100
	b.now, b.sleep = clk.Now, clk.Sleep
	b.Wait(context.Background())
	clk.Sleep(nil, time.Hour)
	start := clk.Now()
	for i := 0; i < 200; i++ {
		b.Wait(context.Background())
	}
	if got := clk.Now().Sub(start); got < 99*time.Millisecond {
		t.Fatalf("200 tokens after an idle hour came in %v; with burst 100 at 1000/s they need >= 100ms", got)
	}
}

func TestTokenBucketWaitHonoursContext(t *testing.T) {
	b := newTokenBucket(1) // the second token is a second away
	b.Wait(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Wait(ctx); err == nil {
		t.Fatal("Wait on a cancelled context returned nil")
	}
}

// The non-blocking take (the epoll engine's) grants rate x 10 s within 5%
// over 10 s of a greedy caller polling at irregular intervals, and give
// returns tokens without ever raising the bucket above its burst.
func TestTokenBucketTakeHoldsRateOver10s(t *testing.T) {
	for _, rate := range []float64{100, 1000, 20000} {
		clk := &fakeClock{now: time.Unix(1e9, 0)}
		b := newTokenBucket(rate)
		b.now = clk.Now
		end := clk.Now().Add(10 * time.Second)
		var granted int64
		for i := 0; clk.Now().Before(end); i++ {
			k := b.take(64)
			if i%3 == 0 && k > 1 { // a batch that could not all be used
				b.give(1)
				k--
			}
			granted += k
			clk.Sleep(context.Background(), time.Duration(100+(i*7919)%2900)*time.Microsecond)
		}
		if want := rate * 10; float64(granted) < 0.95*want || float64(granted) > 1.05*want {
			t.Fatalf("rate %v: %d tokens granted over 10 s, want %v within 5%%", rate, granted, want)
		}
		if b.give(1 << 20); b.take(1<<20) > int64(b.burst) {
			t.Fatalf("rate %v: give raised the bucket above its burst", rate)
		}
	}
}
