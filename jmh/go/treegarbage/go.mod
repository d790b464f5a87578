module goheap.example/treegarbage

go 1.19
