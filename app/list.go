package app

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// Page is the shape of every list response.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// ListQuery holds the parameters every list endpoint takes.
type ListQuery struct {
	Sort   string `query:"sort" json:"sort,omitempty" doc:"Field to sort by; prefix with - for descending."`
	Limit  int    `query:"limit" json:"limit,omitempty" doc:"Items per page, 1 to 500 (default 50)."`
	Cursor string `query:"cursor" json:"cursor,omitempty" doc:"next_cursor of the previous page."`
}

// List is a parsed ListQuery: a known sort field, its direction, a page size and an offset.
type List struct {
	Sort   string
	Desc   bool
	Limit  int
	Offset int
}

// ParseList reads sort, limit and cursor. sortable lists the fields a list may be sorted by;
// the first is the default (a leading "-" makes the default descending).
func ParseList(c echo.Context, sortable ...string) (List, error) {
	l := List{Limit: 50}
	sort := c.QueryParam("sort")
	if sort == "" && len(sortable) > 0 {
		sort = sortable[0]
	}
	l.Desc = strings.HasPrefix(sort, "-")
	l.Sort = strings.TrimPrefix(sort, "-")
	plain := make([]string, len(sortable))
	for i, s := range sortable {
		plain[i] = strings.TrimPrefix(s, "-")
	}
	if l.Sort != "" && !slices.Contains(plain, l.Sort) {
		return l, Invalid("sort", "invalid_sort", "cannot sort by "+strconv.Quote(l.Sort)+"; sort by one of: "+strings.Join(plain, ", "))
	}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return l, Invalid("limit", "invalid_limit", "limit must be a whole number from 1 to 500")
		}
		l.Limit = n
	}
	if v := c.QueryParam("cursor"); v != "" {
		var cur struct {
			Offset int `json:"o"`
		}
		if err := DecodeCursor(v, &cur); err != nil || cur.Offset < 0 {
			return l, Invalid("cursor", "invalid_cursor", "cursor is not one this server handed out; start again without it")
		}
		l.Offset = cur.Offset
	}
	return l, nil
}

// Direction is "ASC" or "DESC", for building ORDER BY from a whitelisted field.
func (l List) Direction() string {
	if l.Desc {
		return "DESC"
	}
	return "ASC"
}

// Paginate turns one page of rows, fetched with LIMIT l.Limit+1 OFFSET l.Offset, into a Page.
func Paginate[T any](l List, rows []T) Page[T] {
	p := Page[T]{Items: rows}
	if p.Items == nil {
		p.Items = []T{}
	}
	if len(rows) > l.Limit {
		p.Items = rows[:l.Limit]
		p.NextCursor = EncodeCursor(struct {
			Offset int `json:"o"`
		}{l.Offset + l.Limit})
	}
	return p
}

// EncodeCursor makes an opaque cursor from any JSON value (an offset, or a keyset position).
func EncodeCursor(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a cursor made by EncodeCursor.
func DecodeCursor(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// ParseTime reads a time parameter (RFC 3339), with an error naming the field.
func ParseTime(field, value string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, value)
	if err != nil {
		return t, Invalid(field, "invalid_time", field+" must be an RFC 3339 time such as 2026-01-31T00:00:00Z")
	}
	return t, nil
}

// PageByKey turns one page of rows, fetched with LIMIT limit+1, into a Page whose cursor is
// the key of its last item (keyset paging, for lists too long for offsets).
func PageByKey[T any](limit int, rows []T, key func(last T) any) Page[T] {
	p := Page[T]{Items: rows}
	if p.Items == nil {
		p.Items = []T{}
	}
	if len(rows) > limit {
		p.Items = rows[:limit]
		p.NextCursor = EncodeCursor(key(p.Items[limit-1]))
	}
	return p
}
