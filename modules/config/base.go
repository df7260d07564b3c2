package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"mipo/app"
	"mipo/modules/config/configapi"
)

// The object families, as config_objects.kind spells them.
const (
	kindSubnet        = configapi.KindSubnet
	kindSubnetGroup   = configapi.KindSubnetGroup
	kindExclusion     = "exclusion"
	kindPortList      = configapi.KindPortList
	kindPortListGroup = configapi.KindPortListGroup
	kindTemplate      = configapi.KindTemplate
	kindTemplateGroup = configapi.KindTemplateGroup
)

// nouns name each kind in messages meant for people.
var nouns = map[string]string{
	kindSubnet: "subnet", kindSubnetGroup: "subnet group", kindExclusion: "exclusion", kindPortList: "port list",
	kindPortListGroup: "port list group", kindTemplate: "template", kindTemplateGroup: "template group",
}

// aNoun is a kind's noun with its article: "a subnet", "an exclusion".
func aNoun(kind string) string {
	n := nouns[kind]
	if strings.ContainsRune("aeiou", rune(n[0])) {
		return "an " + n
	}
	return "a " + n
}

// Base is what every object has.
type Base struct {
	Name        string `json:"name" doc:"Unique among objects of its kind (ignoring case); 1 to 64 characters."`
	Description string `json:"description,omitempty" maxlen:"4096" doc:"Free text, up to 1024 characters."`
}

func (b *Base) base() *Base { return b }

// check trims the name and refuses names and descriptions people could not read or tell apart.
func (b *Base) check() error {
	b.Name = strings.TrimSpace(b.Name)
	if b.Name == "" {
		return app.Invalid("name", "invalid_name", "give a name")
	}
	if utf8.RuneCountInString(b.Name) > 64 || hasControl(b.Name) {
		return app.Invalid("name", "invalid_name", "a name is at most 64 characters, without control characters")
	}
	if utf8.RuneCountInString(b.Description) > 1024 || strings.ContainsFunc(b.Description, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) {
		return app.Invalid("description", "invalid_description", "a description is at most 1024 characters, without control characters other than new lines and tabs")
	}
	return nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl) || !utf8.ValidString(s)
}

// Ref names another object: what an object refers to, or what refers to it.
type Ref struct {
	ID   string `json:"id"`
	Kind string `json:"kind" doc:"subnet, subnet_group, exclusion, port_list, port_list_group, template or template_group."`
	Name string `json:"name" doc:"The object's current name."`
}

// refField is one field of a spec that holds ids of objects of one kind.
type refField struct {
	field string
	kind  string
	ids   []string
}

// checkIDs validates a list of object ids: each a uuid, written canonically, once. Order is
// kept, because it is the order the operator chose.
func checkIDs(field string, ids []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for i, id := range ids {
		u, err := uuid.Parse(strings.TrimSpace(id))
		if err != nil {
			return nil, app.Invalid(fmt.Sprintf("%s[%d]", field, i), "invalid_id", strconv.Quote(id)+" is not an id (a uuid)")
		}
		if s := u.String(); !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out, nil
}

// checkTags trims, deduplicates and sorts tags; a tag is a short word or phrase without commas.
func checkTags(tags []string) ([]string, error) {
	if len(tags) > 32 {
		return nil, app.Invalid("tags", "too_many_tags", "at most 32 tags")
	}
	seen := map[string]bool{}
	var out []string
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" || utf8.RuneCountInString(t) > 64 || strings.Contains(t, ",") || hasControl(t) {
			return nil, app.Invalid("tags", "invalid_tag", "a tag is 1 to 64 characters, without commas: "+strconv.Quote(t)+" is not")
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out, nil
}

func isUUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// intIn checks that a number lies within bounds, naming the field and the bounds.
func intIn(field string, v, lo, hi int, unit string) error {
	if v < lo || v > hi {
		return app.Invalid(field, "out_of_range", fmt.Sprintf("%s must be from %d to %d%s", field, lo, hi, unit))
	}
	return nil
}
