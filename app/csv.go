package app

import (
	"encoding/csv"
	"io"
	"strings"
)

// CSVWriter is the one CSV writer of every export. Exports are opened in spreadsheets, and
// their cells hold what strangers typed (a username at a failed sign-in, a User-Agent): a cell
// that begins with = + - @ tab or CR would run as a formula there. Each such cell is prefixed
// with a single quote, OWASP's advice for CSV injection, so it shows as the text it is.
type CSVWriter struct {
	w   *csv.Writer
	row []string
}

// NewCSVWriter writes neutralised CSV to w.
func NewCSVWriter(w io.Writer) *CSVWriter { return &CSVWriter{w: csv.NewWriter(w)} }

// Write writes one row; the caller's slice is not changed.
func (c *CSVWriter) Write(record []string) error {
	c.row = c.row[:0]
	for _, cell := range record {
		c.row = append(c.row, CSVCell(cell))
	}
	return c.w.Write(c.row)
}

// Flush writes buffered rows to the underlying writer.
func (c *CSVWriter) Flush() { c.w.Flush() }

// Error reports an error of an earlier Write or Flush.
func (c *CSVWriter) Error() error { return c.w.Error() }

// CSVCell returns s as a spreadsheet shows it as text: with a leading single quote when it
// begins with a character that starts a formula.
func CSVCell(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}
