//go:build race

package security

// raceEnabled: the race detector allocates, so allocation counts are not
// pinned under it.
const raceEnabled = true
