package results

// SetKeySetChunk makes key set chunks of n keys until the returned func is called, so tests of
// a few dozen keys cross chunk boundaries.
func SetKeySetChunk(n int) (restore func()) {
	was := keySetChunk
	keySetChunk = n
	return func() { keySetChunk = was }
}
