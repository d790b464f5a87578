module goheap/gclatency

go 1.19
