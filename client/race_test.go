//go:build race

package client

// raceEnabled: the race detector makes sync.Pool drop items, so
// allocation pins are skipped under -race.
const raceEnabled = true
