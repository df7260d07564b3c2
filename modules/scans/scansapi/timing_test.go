package scansapi

import (
	"math/rand/v2"
	"testing"
	"time"

	"mipo/app"
)

func TestTimingValidationNamesTheField(t *testing.T) {
	for _, c := range []struct {
		t     Timing
		field string
	}{
		{Timing{}, "cron"},
		{Timing{Cron: "61 * * * *"}, "cron"},
		{Timing{Cron: "* * *"}, "cron"},
		{Timing{Cron: "CRON_TZ=UTC 0 * * * *"}, "cron"},
		{Timing{Preset: "fortnightly"}, "preset"},
		{Timing{Preset: "daily", Cron: "0 0 * * *"}, "preset"},
		{Timing{Preset: "daily", Timezone: "Mars/Olympus"}, "timezone"},
		{Timing{Preset: "hourly", JitterSeconds: 3600}, "jitter_seconds"},
		{Timing{Preset: "daily", JitterSeconds: -1}, "jitter_seconds"},
		{Timing{Preset: "daily", Blackouts: []Blackout{{Start: "8am", End: "18:00"}}}, "blackouts[0].start"},
		{Timing{Preset: "daily", Blackouts: []Blackout{{Days: []string{"funday"}, Start: "08:00", End: "18:00"}}}, "blackouts[0].days"},
		{Timing{Preset: "daily", Blackouts: []Blackout{{Start: "00:00", End: "23:59"}, {Start: "23:59", End: "00:00"}}}, "blackouts"},
	} {
		p, err := c.t.Compile()
		if err == nil && p != nil {
			_, err = p.Next(time.Now(), rand.New(rand.NewPCG(1, 1)))
		}
		e, ok := err.(*app.Error)
		if !ok || e.Field != c.field {
			t.Errorf("%+v: want an error on %s, got %v", c.t, c.field, err)
		}
	}
}

func TestJitterStaysInsideItsWindow(t *testing.T) {
	p, err := Timing{Cron: "0 3 * * *", Timezone: "Europe/Berlin", JitterSeconds: 1800}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(7, 7))
	berlin, _ := time.LoadLocation("Europe/Berlin")
	after := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	seen := map[int]bool{}
	for range 500 {
		next, err := p.Next(after, rnd)
		if err != nil {
			t.Fatal(err)
		}
		local := next.In(berlin)
		slot := time.Date(local.Year(), local.Month(), local.Day(), 3, 0, 0, 0, berlin)
		if next.Before(slot) || !next.Before(slot.Add(30*time.Minute)) {
			t.Fatalf("start %s is outside 03:00-03:30 Berlin", local)
		}
		seen[int(next.Sub(slot)/time.Minute)/5] = true
		after = next
	}
	if len(seen) < 5 {
		t.Fatalf("the jitter does not spread starts over its window: %v", seen)
	}
}

func TestBlackoutsMoveRunsToTheNextSlotOutside(t *testing.T) {
	p, err := Timing{Preset: "hourly", Timezone: "America/New_York",
		Blackouts: []Blackout{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "08:00", End: "18:00"}, {Start: "23:00", End: "01:00"}}}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	after := time.Date(2026, 6, 1, 7, 30, 0, 0, ny) // a Monday
	var got []string
	for range 6 {
		next, _ := p.Next(after, nil)
		got = append(got, next.In(ny).Format("Mon 15:04"))
		after = next
	}
	want := []string{"Mon 18:00", "Mon 19:00", "Mon 20:00", "Mon 21:00", "Mon 22:00", "Tue 01:00"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("runs %v, want %v", got, want)
		}
	}
	if up := p.Upcoming(time.Date(2026, 6, 6, 12, 30, 0, 0, ny), 2); len(up) != 2 || up[0].In(ny).Format("Sat 15:04") != "Sat 13:00" {
		t.Fatalf("weekend runs are not blacked out: %v", up)
	}
}

func FuzzTiming(f *testing.F) {
	f.Add("*/5 * * * *", "", "UTC", 60, "mon", "08:00", "18:00")
	f.Add("", "weekly", "Asia/Tokyo", 0, "", "23:00", "01:00")
	f.Add("@every 1h", "", "", 10, "x", "99:99", "")
	f.Fuzz(func(t *testing.T, cron, preset, tz string, jitter int, day, start, end string) {
		tm := Timing{Cron: cron, Preset: preset, Timezone: tz, JitterSeconds: jitter, Blackouts: []Blackout{{Days: []string{day}, Start: start, End: end}}}
		p, err := tm.Compile()
		if err != nil {
			if e, ok := err.(*app.Error); !ok || e.Field == "" {
				t.Fatalf("a bad timing must be a field error: %#v", err)
			}
			return
		}
		after := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		next, err := p.Next(after, rand.New(rand.NewPCG(1, 2)))
		if err == nil && !next.After(after) {
			t.Fatalf("next run %s is not after %s", next, after)
		}
	})
}
