package netset

import (
	"encoding/json"
	"fmt"
)

// MarshalJSON writes s as its intervals, [{"first":"10.0.0.0","last":"10.0.0.255"}],
// and the empty set as []. Intervals, not CIDRs, because they are what
// the set holds: no range has to be cut into prefixes and back.
func (s Set) MarshalJSON() ([]byte, error) {
	return json.Marshal(s.Intervals())
}

// UnmarshalJSON reads the form MarshalJSON writes. Every interval is
// validated as FromRange does; they may come in any order and overlap,
// and are merged. null is the empty set.
func (s *Set) UnmarshalJSON(data []byte) error {
	var ivs []Interval
	if err := json.Unmarshal(data, &ivs); err != nil {
		return err
	}
	var v4, v6 []span
	for i, iv := range ivs {
		is4, sp, err := rangeSpan(iv.First, iv.Last, iv.First.String()+"-"+iv.Last.String())
		if err != nil {
			return fmt.Errorf("netset: interval %d: %w", i, err)
		}
		if is4 {
			v4 = append(v4, sp)
		} else {
			v6 = append(v6, sp)
		}
	}
	*s = Set{v4: normalize(v4), v6: normalize(v6)}
	return nil
}

// intervalJSON is an Interval as MarshalJSON writes it, for OpenAPI generators: netip.Addr
// is text in JSON, which a reflecting generator cannot know.
type intervalJSON struct {
	First string `json:"first" doc:"The first address."`
	Last  string `json:"last" doc:"The last address, inclusive."`
}

// JSONSchemaAlias tells invopop/jsonschema (the OpenAPI document's generator) what a Set is in
// JSON: a list of intervals. It is a method, not an import, so netset stays dependency-free.
func (Set) JSONSchemaAlias() any { return []intervalJSON{} }

// JSONSchemaAlias describes an Interval in JSON; see Set.JSONSchemaAlias.
func (Interval) JSONSchemaAlias() any { return intervalJSON{} }
