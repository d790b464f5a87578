// A 32 MiB tree held in a local variable, then 128 MiB of garbage nodes, in Go's own runtime: the peer of goheap's
// demo mode tree-then-garbage. Build: go build -o treegarbage .
package main

import (
	"fmt"
	"runtime"
	"time"
)

type node struct{ left, right *node }

func bottomUp(depth int) *node {
	if depth <= 0 {
		return &node{}
	}
	return &node{bottomUp(depth - 1), bottomUp(depth - 1)}
}

func (n *node) count() int {
	if n.left == nil {
		return 1
	}
	return 1 + n.left.count() + n.right.count()
}

var sink *node

func main() {
	start := time.Now()
	tree := bottomUp(20)
	for i := 0; i < (128<<20)/16; i++ {
		sink = &node{}
	}
	nodes := tree.count()
	elapsed := time.Since(start)
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	var maxPause uint64
	for _, p := range m.PauseNs {
		if p > maxPause {
			maxPause = p
		}
	}
	fmt.Printf("tree of %d nodes in a local, then 128 MiB of garbage\n", nodes)
	fmt.Printf("go: %.2f s, %d collections, pauses total %.2f ms, longest %.3f ms\n",
		elapsed.Seconds(), m.NumGC, float64(m.PauseTotalNs)/1e6, float64(maxPause)/1e6)
}
