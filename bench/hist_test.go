package bench

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketRoundTrip(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 257, 1000, 65_432, 1 << 20, 123_456_789, 1<<maxBits - 1} {
		i := bucketOf(v)
		if i < 0 || i >= numBuckets {
			t.Fatalf("bucketOf(%d) = %d, out of range", v, i)
		}
		got := bucketValue(i)
		if diff := float64(got) - float64(v); diff < 0 && -diff > float64(v)/subCount || diff > float64(v)/subCount+1 {
			t.Errorf("bucketValue(bucketOf(%d)) = %d: off by more than 1/%d", v, got, subCount)
		}
		if i > 0 && bucketOf(v) < bucketOf(v-1) {
			t.Errorf("buckets not monotonic at %d", v)
		}
	}
	if got := bucketOf(1 << 62); got != numBuckets-1 {
		t.Errorf("bucketOf(2^62) = %d, want the last bucket %d", got, numBuckets-1)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		gen  func() time.Duration
	}{
		{"uniform 0-1ms", func() time.Duration { return time.Duration(rng.Int64N(int64(time.Millisecond))) }},
		{"exponential 80µs", func() time.Duration { return time.Duration(rng.ExpFloat64() * 80e3) }},
		{"constant 104µs", func() time.Duration { return 104 * time.Microsecond }},
		{"tiny", func() time.Duration { return time.Duration(rng.IntN(100)) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h Histogram
			samples := make([]time.Duration, 20000)
			for i := range samples {
				samples[i] = tc.gen()
				h.Record(samples[i])
			}
			slices.Sort(samples)
			for _, q := range []float64{0, 0.5, 0.9, 0.99, 1} {
				want := samples[max(0, int(q*float64(len(samples)))-1)]
				if q == 0 {
					want = samples[0]
				}
				got := h.Quantile(q)
				tol := float64(want)/subCount + 1
				if d := float64(got - want); d > tol || -d > tol {
					t.Errorf("q%.2f = %v, want %v ± %.0fns", q, got, want, tol)
				}
			}
			if h.Max() != samples[len(samples)-1] {
				t.Errorf("max %v, want %v", h.Max(), samples[len(samples)-1])
			}
			if h.Count() != uint64(len(samples)) {
				t.Errorf("count %d", h.Count())
			}
		})
	}
}

func TestHistogramMergeAndEmpty(t *testing.T) {
	var a, b, empty Histogram
	if empty.Quantile(0.5) != 0 || empty.Mean() != 0 || empty.Max() != 0 {
		t.Error("empty histogram reports non-zero figures")
	}
	a.Record(10 * time.Microsecond)
	b.Record(30 * time.Microsecond)
	b.Record(-time.Second) // counted as zero
	a.Merge(&b)
	if a.Count() != 3 || a.Max() != 30*time.Microsecond || a.Mean() != 40*time.Microsecond/3 {
		t.Errorf("merged: count %d max %v mean %v", a.Count(), a.Max(), a.Mean())
	}
	if q := a.Quantile(1); q != 30*time.Microsecond {
		t.Errorf("q1 = %v", q)
	}
	if q := a.Quantile(0); q != 0 {
		t.Errorf("q0 = %v", q)
	}
}

func TestHistogramRecordAllocs(t *testing.T) {
	h := new(Histogram)
	if n := testing.AllocsPerRun(1000, func() { h.Record(123 * time.Microsecond) }); n != 0 {
		t.Errorf("Record allocates %v times", n)
	}
}
