// binary-trees (the Benchmarks Game), single-threaded, in Go's own runtime: the peer of goheap's demo mode
// binary-trees (collected off-heap nodes, one thread) and of the Java-heap variant. Build: go build -o binarytrees .
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

type node struct{ left, right *node }

func bottomUp(depth int) *node {
	if depth <= 0 {
		return &node{}
	}
	return &node{bottomUp(depth - 1), bottomUp(depth - 1)}
}

func (n *node) check() int {
	if n.left == nil {
		return 1
	}
	return 1 + n.left.check() + n.right.check()
}

func main() {
	n := 16
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	maxDepth := n
	if maxDepth < 6 {
		maxDepth = 6
	}
	start := time.Now()
	fmt.Printf("stretch tree of depth %d\t check: %d\n", maxDepth+1, bottomUp(maxDepth+1).check())
	longLived := bottomUp(maxDepth)
	for d := 4; d <= maxDepth; d += 2 {
		iterations := 1 << uint(maxDepth-d+4)
		check := 0
		for i := 0; i < iterations; i++ {
			check += bottomUp(d).check()
		}
		fmt.Printf("%d\t trees of depth %d\t check: %d\n", iterations, d, check)
	}
	fmt.Printf("long lived tree of depth %d\t check: %d\n", maxDepth, longLived.check())
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	var maxPause uint64
	for _, p := range m.PauseNs {
		if p > maxPause {
			maxPause = p
		}
	}
	fmt.Printf("\ngo: %.2f s, %d collections, pauses total %.1f ms, longest %.2f ms, HeapSys %d MiB\n",
		time.Since(start).Seconds(), m.NumGC, float64(m.PauseTotalNs)/1e6, float64(maxPause)/1e6, m.HeapSys>>20)
}
