package sandbox

import (
	"time"

	"tabler1/sandbox/execution"
)

// DefaultLimits are the limits a PoolConfig or RemoteConfig with zero Limits
// applies: 10 s wall clock, CPU equal to the wall clock, 1 GiB of memory,
// 64 KiB of each of stdout and stderr, 16 MiB per written file, 64 open
// files.
func DefaultLimits() execution.Limits {
	return execution.Limits{
		Wall:        10 * time.Second,
		CPU:         10 * time.Second,
		MemoryBytes: 1 << 30,
		OutputBytes: 64 << 10,
		FileBytes:   16 << 20,
		OpenFiles:   64,
	}
}

// wireLimits is Limits as the worker reads them.
type wireLimits struct {
	WallMS      int64 `json:"wall_ms"`
	CPUMS       int64 `json:"cpu_ms"`
	MemoryBytes int64 `json:"memory_bytes"`
	OutputBytes int   `json:"output_bytes"`
	FileBytes   int64 `json:"file_bytes"`
	OpenFiles   int   `json:"open_files"`
}

func wire(l execution.Limits) wireLimits {
	ms := func(d time.Duration) int64 {
		if m := d.Milliseconds(); m > 0 {
			return m
		}
		return 1
	}
	return wireLimits{
		WallMS:      ms(l.Wall),
		CPUMS:       ms(l.CPU),
		MemoryBytes: l.MemoryBytes,
		OutputBytes: l.OutputBytes,
		FileBytes:   l.FileBytes,
		OpenFiles:   l.OpenFiles,
	}
}
