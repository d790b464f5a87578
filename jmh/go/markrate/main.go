// Mark rate of Go's own runtime: live bytes marked per CPU-second, the peer of goheap's JMH MarkRateBench.
//
// The graph (the same in both): N = size/64 nodes of 64 bytes (two pointers and 48 bytes of padding, Go's
// 64-byte size class), allocated one after another (so in address order within their spans), then linked as a
// complete binary tree whose positions are shuffled: tree position k (root 0, children 2k+1 and 2k+2) is the
// node allocated perm[k]-th, where perm is a Fisher-Yates shuffle of [0, N) driven by splitmix64 with seed 42.
// Every node is reachable from the global root (N-1 edges, depth about log2 N); each edge points to a random
// place in the heap, as in a heap that has lived a while, so the mark is bound by cache misses, not by a
// sequential walk.
//
// It runs runtime.GC() once to drop the build's slices, then K times, timing each: wall time and the process's
// CPU time (getrusage RUSAGE_SELF, user+sys, all threads: Go marks with its background workers on up to
// GOMAXPROCS Ps, so CPU can exceed wall). runtime.GC() also sweeps every span before it returns, as goheap's
// gc() does; both numbers include that sweep. Live bytes are HeapAlloc after the last GC.
//
// Run: cd jmh/go/markrate && go run . [MiB, default 256] [K, default 10]
// (GOMAXPROCS=1 go run . 256 marks on one thread, as goheap's single-threaded marker does.)
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"syscall"
	"time"
)

type node struct {
	left, right *node
	pad         [6]uint64
}

var root *node

type splitmix64 uint64

func (s *splitmix64) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// build links n nodes as described in the package comment and returns the tree's root.
func build(n int) *node {
	nodes := make([]*node, n)
	for i := range nodes {
		nodes[i] = &node{}
	}
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	r := splitmix64(42)
	for i := n - 1; i > 0; i-- {
		j := int(r.next() % uint64(i+1))
		perm[i], perm[j] = perm[j], perm[i]
	}
	for k := 0; k < n; k++ {
		nd := nodes[perm[k]]
		if l := 2*k + 1; l < n {
			nd.left = nodes[perm[l]]
		}
		if rt := 2*k + 2; rt < n {
			nd.right = nodes[perm[rt]]
		}
	}
	return nodes[perm[0]]
}

func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func median(xs []int64) int64 {
	s := append([]int64(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func arg(i, def int) int {
	if len(os.Args) > i {
		v, err := strconv.Atoi(os.Args[i])
		if err != nil || v <= 0 {
			fmt.Fprintf(os.Stderr, "usage: markrate [MiB (default 256)] [GCs (default 10)]: bad %q\n", os.Args[i])
			os.Exit(2)
		}
		return v
	}
	return def
}

func main() {
	mib, gcs := arg(1, 256), arg(2, 10)
	n := mib << 20 / 64
	root = build(n)
	runtime.GC() // drops the build's slices; not measured
	wall := make([]int64, gcs)
	cpu := make([]int64, gcs)
	for i := 0; i < gcs; i++ {
		c0, t0 := cpuNanos(), time.Now()
		runtime.GC()
		wall[i], cpu[i] = int64(time.Since(t0)), cpuNanos()-c0
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if m.HeapObjects < uint64(n) || m.HeapAlloc < uint64(n)*64 {
		fmt.Fprintf(os.Stderr, "graph not all live: HeapObjects %d, HeapAlloc %d, want >= %d nodes\n", m.HeapObjects, m.HeapAlloc, n)
		os.Exit(1)
	}
	mw, mc := median(wall), median(cpu)
	fmt.Printf("go markrate: %d MiB graph, %d nodes, GOMAXPROCS %d, live %d B (HeapAlloc), %d GCs: median wall %.2f ms,"+
		" median CPU %.2f ms; mark rate %.0f MiB/CPU-s, %.0f MiB/wall-s (mark+sweep)\n",
		mib, n, runtime.GOMAXPROCS(0), m.HeapAlloc, gcs, float64(mw)/1e6, float64(mc)/1e6,
		float64(m.HeapAlloc)/(1<<20)/(float64(mc)/1e9), float64(m.HeapAlloc)/(1<<20)/(float64(mw)/1e9))
	runtime.KeepAlive(root)
}
