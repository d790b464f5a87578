module goheap.example/allocring

go 1.19
