package app

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestJSONArrayWriterWritesAValidArray(t *testing.T) {
	for _, n := range []int{0, 1, 3} {
		var buf bytes.Buffer
		w := NewJSONArrayWriter(&buf)
		for i := 0; i < n; i++ {
			if err := w.Write(map[string]int{"i": i}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		var got []map[string]int
		if err := json.Unmarshal(buf.Bytes(), &got); err != nil || len(got) != n {
			t.Fatalf("%d elements: %q is not an array of %d (%v)", n, buf.String(), n, err)
		}
	}
}
