package app

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A Setting is one MIPO_* variable. Modules declare theirs as package variables, so every
// setting is known before start-up: `mipo serve --help` lists them all and Load validates them
// all, naming the variable at fault.
type Setting struct {
	Name    string // MIPO_…
	Default string
	Help    string
	Secret  bool // never printed
	parse   func(string) error
}

var (
	settingsMu sync.Mutex
	settings   = map[string]*Setting{}
)

func declare(s *Setting) *Setting {
	settingsMu.Lock()
	defer settingsMu.Unlock()
	if !strings.HasPrefix(s.Name, "MIPO_") {
		panic(fmt.Sprintf("app: setting %q must start with MIPO_", s.Name))
	}
	if _, dup := settings[s.Name]; dup {
		panic(fmt.Sprintf("app: setting %s declared twice", s.Name))
	}
	settings[s.Name] = s
	return s
}

// Settings returns every declared setting, sorted by name.
func Settings() []*Setting {
	settingsMu.Lock()
	defer settingsMu.Unlock()
	out := make([]*Setting, 0, len(settings))
	for _, s := range settings {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// StringSetting declares a free-form string variable.
func StringSetting(name, def, help string) StringVar {
	return StringVar{declare(&Setting{Name: name, Default: def, Help: help, parse: func(string) error { return nil }})}
}

// SecretSetting declares a string variable whose value is never printed.
func SecretSetting(name, help string) StringVar {
	return StringVar{declare(&Setting{Name: name, Help: help, Secret: true, parse: func(string) error { return nil }})}
}

// ChoiceSetting declares a variable limited to the given values.
func ChoiceSetting(name, def, help string, choices ...string) StringVar {
	return StringVar{declare(&Setting{Name: name, Default: def, Help: help + " (" + strings.Join(choices, ", ") + ")",
		parse: func(v string) error {
			for _, c := range choices {
				if v == c {
					return nil
				}
			}
			return fmt.Errorf("must be one of %s", strings.Join(choices, ", "))
		}})}
}

// DurationSetting declares a positive Go duration such as 30m or 12h.
func DurationSetting(name string, def time.Duration, help string) DurationVar {
	return DurationVar{declare(&Setting{Name: name, Default: def.String(), Help: help, parse: func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("must be a positive duration such as 30s, 15m or 12h")
		}
		return nil
	}})}
}

// IntSetting declares an integer variable within [min, max].
func IntSetting(name string, def, min, max int, help string) IntVar {
	return IntVar{declare(&Setting{Name: name, Default: strconv.Itoa(def), Help: help, parse: func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < min || n > max {
			return fmt.Errorf("must be a whole number from %d to %d", min, max)
		}
		return nil
	}})}
}

// StringVar reads a declared string setting from a Config.
type StringVar struct{ s *Setting }

func (v StringVar) Get(c *Config) string { return c.lookup(v.s) }
func (v StringVar) Name() string         { return v.s.Name }

// DurationVar reads a declared duration setting from a Config.
type DurationVar struct{ s *Setting }

func (v DurationVar) Get(c *Config) time.Duration {
	d, _ := time.ParseDuration(c.lookup(v.s)) // validated by Load
	return d
}
func (v DurationVar) Name() string { return v.s.Name }

// IntVar reads a declared integer setting from a Config.
type IntVar struct{ s *Setting }

func (v IntVar) Get(c *Config) int {
	n, _ := strconv.Atoi(c.lookup(v.s)) // validated by Load
	return n
}
func (v IntVar) Name() string { return v.s.Name }
