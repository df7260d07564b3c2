package app

import (
	"encoding/json"
	"io"
)

// JSONArrayWriter streams a JSON array one element at a time, the JSON twin of CSVWriter:
// an export of any size goes out as it is read, never built in memory.
type JSONArrayWriter struct {
	w io.Writer
	n int
}

// NewJSONArrayWriter writes a JSON array to w; Close ends it.
func NewJSONArrayWriter(w io.Writer) *JSONArrayWriter { return &JSONArrayWriter{w: w} }

// Write appends one element, one per line.
func (j *JSONArrayWriter) Write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	sep := ",\n"
	if j.n == 0 {
		sep = "["
	}
	j.n++
	_, err = j.w.Write(append([]byte(sep), b...))
	return err
}

// Close ends the array (an empty one when nothing was written).
func (j *JSONArrayWriter) Close() error {
	end := "]\n"
	if j.n == 0 {
		end = "[]\n"
	}
	_, err := io.WriteString(j.w, end)
	return err
}
