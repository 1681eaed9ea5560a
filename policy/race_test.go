//go:build race

package policy_test

// raceEnabled: the race detector allocates, so allocation counts are not
// pinned under it.
const raceEnabled = true
