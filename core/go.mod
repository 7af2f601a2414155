module github.com/compio-sync/gosync/core

go 1.26.0
