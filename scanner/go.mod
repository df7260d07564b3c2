module mipo/scanner

go 1.26.8
