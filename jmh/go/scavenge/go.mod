module goheap/scavenge

go 1.19
