// Collected allocation in Go's own runtime, the peer of goheap's JMH CollectedAllocBench: allocate one object
// and store it into a 1,024-slot ring held by a global (each object reachable briefly, then garbage), with the
// collector on (GOGC as set in the environment; the benchmark runs it at GOGC=100) and one goroutine allocating.
//
// Shapes (the same in both):
//
//	8noscan     8 bytes, no pointers             (uint64: the tiny allocator packs two per 16-byte block)
//	16noscan    16 bytes, no pointers            ([2]uint64)
//	16ptr2      16 bytes, two pointers           (struct{ a, b *T })
//	64ptr       64 bytes, two pointers and 48 bytes of data
//	64noscan    64 bytes, no pointers            ([8]uint64)
//	256ptr      256 bytes, one pointer and 248 bytes of data
//	4096noscan  4 KiB, no pointers               ([4096]byte)
//
// For each shape: a warm-up of one second, then R rounds of one second each; it prints the median ns per
// allocation and the cycles run. Run: cd jmh/go/allocring && GOGC=100 go run . [shape ...] (default all)
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"time"
)

const ringSize = 1024

type noscan8 uint64
type noscan16 [2]uint64
type ptr16 struct{ a, b *ptr16 }
type ptr64 struct {
	a, b *ptr64
	pad  [6]uint64
}
type noscan64 [8]uint64
type ptr256 struct {
	next *ptr256
	pad  [31]uint64
}
type noscan4096 [4096]byte

var (
	ring8noscan    [ringSize]*noscan8
	ring16noscan   [ringSize]*noscan16
	ring16ptr2     [ringSize]*ptr16
	ring64ptr      [ringSize]*ptr64
	ring64noscan   [ringSize]*noscan64
	ring256ptr     [ringSize]*ptr256
	ring4096noscan [ringSize]*noscan4096
)

// loops allocate n objects of a shape into its ring; each is the benchmark's inner loop.
var loops = map[string]func(n int){
	"8noscan": func(n int) {
		for i := 0; i < n; i++ {
			ring8noscan[i&(ringSize-1)] = new(noscan8)
		}
	},
	"16noscan": func(n int) {
		for i := 0; i < n; i++ {
			ring16noscan[i&(ringSize-1)] = new(noscan16)
		}
	},
	"16ptr2": func(n int) {
		for i := 0; i < n; i++ {
			ring16ptr2[i&(ringSize-1)] = new(ptr16)
		}
	},
	"64ptr": func(n int) {
		for i := 0; i < n; i++ {
			ring64ptr[i&(ringSize-1)] = new(ptr64)
		}
	},
	"64noscan": func(n int) {
		for i := 0; i < n; i++ {
			ring64noscan[i&(ringSize-1)] = new(noscan64)
		}
	},
	"256ptr": func(n int) {
		for i := 0; i < n; i++ {
			ring256ptr[i&(ringSize-1)] = new(ptr256)
		}
	},
	"4096noscan": func(n int) {
		for i := 0; i < n; i++ {
			ring4096noscan[i&(ringSize-1)] = new(noscan4096)
		}
	},
}

var order = []string{"8noscan", "16noscan", "16ptr2", "64ptr", "64noscan", "256ptr", "4096noscan"}

// run times rounds of about d each (batches of 1,024 allocations) and returns the median ns per allocation.
func run(loop func(int), d time.Duration, rounds int) float64 {
	per := make([]float64, rounds)
	for r := 0; r < rounds; r++ {
		n := 0
		t0 := time.Now()
		for time.Since(t0) < d {
			loop(ringSize)
			n += ringSize
		}
		per[r] = float64(time.Since(t0).Nanoseconds()) / float64(n)
	}
	sort.Float64s(per)
	return per[rounds/2]
}

func main() {
	shapes := os.Args[1:]
	if len(shapes) == 0 {
		shapes = order
	}
	gogc := os.Getenv("GOGC")
	if gogc == "" {
		gogc = "100 (default)"
	}
	for _, s := range shapes {
		loop, ok := loops[s]
		if !ok {
			fmt.Fprintf(os.Stderr, "unknown shape %q; shapes: %v\n", s, order)
			os.Exit(2)
		}
		run(loop, time.Second, 1) // warm-up
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		ns := run(loop, time.Second, 3)
		runtime.ReadMemStats(&m1)
		fmt.Printf("go allocring %-10s %7.2f ns/op  (GOGC=%s, GOMAXPROCS %d, %d cycles in 3 s)\n",
			s, ns, gogc, runtime.GOMAXPROCS(0), m1.NumGC-m0.NumGC)
	}
}
