package main

import (
	"context"
	"sync"
	"time"
)

// tokenBucket limits connection attempts to rate per second, with bursts of
// at most burst attempts. Waiters reserve their token up front (the count may
// go negative), so many goroutines waiting at once are served in turn and
// the long-run rate never exceeds rate.
type tokenBucket struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
}

// newTokenBucket allows rate attempts per second. The burst is 100 ms worth
// of tokens (at least 2): a caller that polls for tokens (the epoll engine)
// and is woken late on a busy machine catches up instead of losing them,
// and the long-run rate holds within 1% over 10 s, yet no more than a tenth
// of a second's attempts ever go out at once.
func newTokenBucket(rate float64) *tokenBucket {
	burst := rate / 10
	if burst < 2 {
		burst = 2
	}
	return &tokenBucket{rate: rate, burst: burst, tokens: burst, now: time.Now, sleep: sleepCtx}
}

// Wait takes one token, sleeping until it is due. It returns ctx's error if
// ctx ends first (the token is then not given back: a cancelled scan does
// not care).
func (b *tokenBucket) Wait(ctx context.Context) error {
	b.mu.Lock()
	b.refill()
	b.tokens--
	deficit := -b.tokens
	b.mu.Unlock()
	if deficit <= 0 {
		return ctx.Err()
	}
	return b.sleep(ctx, time.Duration(deficit/b.rate*float64(time.Second)))
}

// take grants up to n tokens without waiting (none while waiters hold
// reservations), for a caller that has other work to do meanwhile.
func (b *tokenBucket) take(n int64) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	k := min(n, int64(b.tokens))
	if k <= 0 {
		return 0
	}
	b.tokens -= float64(k)
	return k
}

// give returns tokens taken but not used.
func (b *tokenBucket) give(n int64) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	b.tokens = min(b.tokens+float64(n), b.burst)
	b.mu.Unlock()
}

func (b *tokenBucket) refill() {
	now := b.now()
	if b.last.IsZero() {
		b.last = now
	}
	b.tokens = min(b.tokens+now.Sub(b.last).Seconds()*b.rate, b.burst)
	b.last = now
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
