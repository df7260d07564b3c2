package discovery

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// RowError is one row of an export that could not be read, by line and column.
type RowError struct {
	Line    int    `json:"line" doc:"The line of the export (1 is the first; for CSV the header)."`
	Column  string `json:"column" doc:"The column (CSV header, or JSON key) at fault."`
	Message string `json:"message"`
}

func (e RowError) String() string {
	return fmt.Sprintf("line %d, column %s: %s", e.Line, e.Column, e.Message)
}

const maxExport = 32 << 20

// fetchCMDB reads a CMDB export, uploaded or fetched from its URL. Rows it cannot read are
// returned as row errors beside the rows it could.
func fetchCMDB(ctx context.Context, f *fetch) ([]Proposed, []RowError, error) {
	data := []byte(f.upload)
	if f.src.Settings.URL != "" {
		var err error
		if data, err = download(ctx, f); err != nil {
			return nil, nil, err
		}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, errors.New("no export: upload one, or give the source a URL")
	}
	return parseExport(f.src.Settings.Format, data, f.src.Settings.Mapping, f.origin)
}

func download(ctx context.Context, f *fetch) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.src.Settings.URL, nil)
	if err != nil {
		return nil, err
	}
	if f.secret != "" {
		req.Header.Set("Authorization", "Bearer "+f.secret)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the export URL answered %s", resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxExport))
}

type originFunc func(account, region, ref string, tags map[string]string) Origin

// columns are the mapping with its defaults filled in.
func (m Mapping) columns() Mapping {
	or := func(s, d string) string {
		if s == "" {
			return d
		}
		return s
	}
	return Mapping{CIDR: or(m.CIDR, "cidr"), Name: or(m.Name, "name"), Tags: or(m.Tags, "tags"), Account: or(m.Account, "account"), Region: or(m.Region, "region")}
}

// parseExport reads a CSV or JSON export into proposals and row errors.
func parseExport(format string, data []byte, m Mapping, origin originFunc) ([]Proposed, []RowError, error) {
	if format == "json" {
		return parseJSON(data, m.columns(), origin)
	}
	return parseCSV(data, m.columns(), origin)
}

func parseCSV(data []byte, m Mapping, origin originFunc) ([]Proposed, []RowError, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("the export has no header line: %w", err)
	}
	for i := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff"))
	}
	if !slices.Contains(header, m.CIDR) {
		return nil, nil, fmt.Errorf("the header has no column %q (the mapping's cidr column)", m.CIDR)
	}
	var out []Proposed
	var bad []RowError
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			bad = append(bad, RowError{Line: pe.StartLine, Column: "(row)", Message: pe.Err.Error()})
			if errors.Is(pe.Err, csv.ErrQuote) && pe.Line > pe.StartLine {
				break // an unterminated quote swallowed the rest of the export
			}
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		line, _ := r.FieldPos(0)
		row := map[string]string{}
		for i, v := range rec {
			if i < len(header) {
				row[header[i]] = strings.TrimSpace(v)
			}
		}
		p, rerr := readRow(row, m, origin, strconv.Itoa(line))
		if rerr != nil {
			rerr.Line = line
			bad = append(bad, *rerr)
			continue
		}
		out = append(out, p)
	}
	return out, bad, nil
}

// parseJSON reads an array of objects (or {"items": [...]}) with each object's line.
func parseJSON(data []byte, m Mapping, origin originFunc) ([]Proposed, []RowError, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var raws []json.RawMessage
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var wrap struct{ Items []json.RawMessage }
		if err := dec.Decode(&wrap); err != nil {
			return nil, nil, fmt.Errorf("the export is not JSON: %w", err)
		}
		raws = wrap.Items
	} else if err := dec.Decode(&raws); err != nil {
		return nil, nil, fmt.Errorf("the export is not a JSON array of objects: %w", err)
	}
	var out []Proposed
	var bad []RowError
	at := 0
	for i, raw := range raws {
		off := bytes.Index(data[at:], raw)
		line := 1
		if off >= 0 {
			at += off
			line = 1 + bytes.Count(data[:at], []byte("\n"))
			at += len(raw)
		}
		var obj map[string]any
		if err := json.Unmarshal(raw, &obj); err != nil {
			bad = append(bad, RowError{Line: line, Column: "", Message: fmt.Sprintf("item %d is not an object", i)})
			continue
		}
		row := map[string]string{}
		for k, v := range obj {
			switch v := v.(type) {
			case string:
				row[k] = strings.TrimSpace(v)
			case []any:
				var parts []string
				for _, e := range v {
					parts = append(parts, fmt.Sprint(e))
				}
				row[k] = strings.Join(parts, ";")
			case nil:
			default:
				row[k] = fmt.Sprint(v)
			}
		}
		p, rerr := readRow(row, m, origin, "item "+strconv.Itoa(i))
		if rerr != nil {
			rerr.Line = line
			bad = append(bad, *rerr)
			continue
		}
		out = append(out, p)
	}
	return out, bad, nil
}

// readRow turns one row into a proposal, or says which column is wrong.
func readRow(row map[string]string, m Mapping, origin originFunc, ref string) (Proposed, *RowError) {
	raw := row[m.CIDR]
	if raw == "" {
		return Proposed{}, &RowError{Column: m.CIDR, Message: "no network given"}
	}
	p, err := prefix(raw)
	if err != nil {
		return Proposed{}, &RowError{Column: m.CIDR, Message: strconv.Quote(raw) + " is not a CIDR such as 10.0.0.0/24"}
	}
	if q, err := netip.ParsePrefix(raw); err == nil && q != q.Masked() {
		return Proposed{}, &RowError{Column: m.CIDR, Message: raw + " has host bits set; did you mean " + q.Masked().String() + "?"}
	}
	var tags map[string]string
	for t := range strings.SplitSeq(row[m.Tags], ";") {
		if t = strings.TrimSpace(t); t != "" {
			if tags == nil {
				tags = map[string]string{}
			}
			k, v, _ := strings.Cut(t, "=")
			tags[k] = v
		}
	}
	return Proposed{CIDR: p.String(), Name: row[m.Name], Origin: origin(row[m.Account], row[m.Region], ref, tags)}, nil
}
