module goheap.example/markrate

go 1.19
