package bench

import (
	"math"
	"math/bits"
	"time"
)

// Histogram buckets durations log-linearly, as HdrHistogram does: values
// below 2^subBits nanoseconds have a bucket each; above, every power of two
// is split into 2^subBits buckets, so a reported quantile is within
// 1/2^subBits (0.8%) of the true sample. Durations are capped at
// 2^maxBits ns (about 18 minutes). Its memory is fixed (about 36 KiB)
// whatever the number of samples. The zero value is empty and ready; a
// Histogram is not safe for concurrent use (keep one per worker and Merge).
type Histogram struct {
	counts [numBuckets]uint64
	n      uint64
	max    time.Duration
	sum    time.Duration
}

const (
	subBits    = 7
	subCount   = 1 << subBits
	maxBits    = 40
	numBuckets = (maxBits - subBits + 1) * subCount
)

// bucketOf returns the bucket index of v nanoseconds (v >= 0, capped).
func bucketOf(v uint64) int {
	if v >= 1<<maxBits {
		v = 1<<maxBits - 1
	}
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	return (shift+1)*subCount + int(v>>shift) - subCount
}

// bucketValue returns the midpoint of bucket i, in nanoseconds.
func bucketValue(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	shift := i/subCount - 1
	low := uint64(i%subCount+subCount) << shift
	return low + (uint64(1)<<shift)/2
}

// Record adds one sample; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.n++
	h.sum += d
	if d > h.max {
		h.max = d
	}
}

// Merge adds the samples of o to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// Count returns the number of samples.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest sample exactly.
func (h *Histogram) Max() time.Duration { return h.max }

// Mean returns the mean of the samples (0 when empty).
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}

// Quantile returns the q-quantile (0 <= q <= 1) of the samples, within the
// bucket precision and never above Max; 0 when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(bucketValue(i)), h.max)
		}
	}
	return h.max
}
