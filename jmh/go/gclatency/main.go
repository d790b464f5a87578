// gc-latency on Go's own runtime: the peer of goheap's `gc-latency` demo mode (io.goheap.demo.GcLatency).
//
// The workload (the same in both): a live heap of N = MiB*2^20/64 nodes of 64 bytes (a next pointer, an id and
// six words of payload: Go's 64-byte size class) in N/2 linked pairs (first.next = second), held by a table of
// N/2 pointers. Then M mutator goroutines (GOMAXPROCS unchanged) replace random pairs as fast as they can for S
// seconds: allocate a new pair, store it into a random table slot; the old pair becomes garbage, so the live heap
// stays N nodes, and as the run goes on the table points to pairs allocated at random times, so the mark follows
// random pointers through the heap. Every replacement is
// timed; its latency includes whatever the runtime made the goroutine wait for (stop-the-world pauses, assists,
// scheduling on the shared machine). Printed: replacements per second, latency p50/p99/p99.9/max from a
// log-linear histogram (relative error under 1/16), and the runtime's own GC pauses (MemStats.PauseNs of the
// cycles of the run: p50/p99/max), NumGC and GCCPUFraction.
//
// Run: cd jmh/go/gclatency && go run . [MiB=256] [mutators=1] [seconds=10]   (GOGC=off for the baseline)
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"
)

type node struct {
	next *node
	id   uint64
	pad  [6]uint64
}

type splitmix64 uint64

func (s *splitmix64) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// histogram: 64 power-of-two ranges of nanoseconds, 16 linear sub-buckets each.
type histogram [64 * 16]uint64

func (h *histogram) record(ns int64) {
	if ns < 16 {
		h[ns]++
		return
	}
	v := uint64(ns)
	e := 63 - leadingZeros(v)
	sub := (v >> (e - 4)) & 15
	h[e*16+int(sub)]++
}

func leadingZeros(v uint64) int {
	n := 0
	for i := 63; i >= 0 && v&(1<<uint(i)) == 0; i-- {
		n++
	}
	return n
}

func (h *histogram) percentile(p float64) int64 {
	var total uint64
	for _, c := range h {
		total += c
	}
	want := uint64(p * float64(total))
	var seen uint64
	for i, c := range h {
		seen += c
		if seen > want && c > 0 {
			if i < 16 {
				return int64(i)
			}
			e := i / 16
			sub := i % 16
			return int64((uint64(16+sub) << (e - 4)))
		}
	}
	return 0
}

func (h *histogram) max() int64 {
	for i := len(h) - 1; i >= 0; i-- {
		if h[i] > 0 {
			if i < 16 {
				return int64(i)
			}
			e, sub := i/16, i%16
			return int64((uint64(16+sub+1) << (e - 4)))
		}
	}
	return 0
}

func arg(i int, def int) int {
	if len(os.Args) > i {
		v, err := strconv.Atoi(os.Args[i])
		if err != nil {
			fmt.Fprintln(os.Stderr, "usage: gclatency [MiB] [mutators] [seconds]")
			os.Exit(2)
		}
		return v
	}
	return def
}

func main() {
	mib, mutators, seconds := arg(1, 256), arg(2, 1), arg(3, 10)
	n := mib << 20 / 64
	slots := uint64(n / 2)
	table := make([]*node, slots)
	for i := range table {
		b := &node{id: uint64(i)}
		table[i] = &node{next: b, id: uint64(i)}
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	hists := make([]histogram, mutators)
	counts := make([]int64, mutators)
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	var wg sync.WaitGroup
	start := time.Now()
	for m := 0; m < mutators; m++ {
		wg.Add(1)
		go func(m int) {
			defer wg.Done()
			r := splitmix64(1000 + m)
			h := &hists[m]
			var ops int64
			for {
				t0 := time.Now()
				b := &node{id: uint64(ops)}
				table[r.next()%slots] = &node{next: b, id: uint64(ops)}
				t1 := time.Now()
				h.record(t1.Sub(t0).Nanoseconds())
				ops++
				if ops&1023 == 0 && t1.After(deadline) {
					break
				}
			}
			counts[m] = ops
		}(m)
	}
	wg.Wait()
	elapsed := time.Since(start)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)

	var all histogram
	var ops int64
	for m := range hists {
		for i, c := range hists[m] {
			all[i] += c
		}
		ops += counts[m]
	}
	cycles := int(after.NumGC - before.NumGC)
	var pauses []int64
	for i := 0; i < cycles && i < 256; i++ {
		pauses = append(pauses, int64(after.PauseNs[(int(after.NumGC)-1-i+256)%256]))
	}
	sort.Slice(pauses, func(a, b int) bool { return pauses[a] < pauses[b] })
	pct := func(p float64) int64 {
		if len(pauses) == 0 {
			return 0
		}
		return pauses[int(p*float64(len(pauses)-1))]
	}
	fmt.Printf("go gc-latency: %d MiB live, %d mutator(s), %.1f s, GOMAXPROCS %d\n", mib, mutators,
		elapsed.Seconds(), runtime.GOMAXPROCS(0))
	fmt.Printf("replacements/s %.0f\n", float64(ops)/elapsed.Seconds())
	fmt.Printf("op latency ns: p50 %d p99 %d p99.9 %d max %d\n", all.percentile(0.5), all.percentile(0.99),
		all.percentile(0.999), all.max())
	fmt.Printf("gc: %d cycles, pause ns p50 %d p99 %d max %d, GCCPUFraction %.3f, HeapAlloc %d MiB\n", cycles,
		pct(0.5), pct(0.99), pct(1.0), after.GCCPUFraction, after.HeapAlloc>>20)
}
