module goheap.example/binarytrees

go 1.19
