package sandbox

import "time"

// DefaultLimits are the limits a PoolConfig or RemoteConfig with zero Limits
// applies: 10 s wall clock, CPU equal to the wall clock, 1 GiB of memory,
// 64 KiB of each of stdout and stderr, 16 MiB per written file, 64 open
// files.
func DefaultLimits() Limits {
	return Limits{
		Wall:        10 * time.Second,
		CPU:         10 * time.Second,
		MemoryBytes: 1 << 30,
		OutputBytes: 64 << 10,
		FileBytes:   16 << 20,
		OpenFiles:   64,
	}
}

// orDefault returns l with each zero or negative field taken from d, and a
// zero CPU limit taken as the wall-clock limit (a job cannot use more CPU
// than wall time with one thread, so that is no limit at all).
func (l Limits) orDefault(d Limits) Limits {
	if l.Wall <= 0 {
		l.Wall = d.Wall
	}
	if l.CPU <= 0 {
		l.CPU = d.CPU
		if l.CPU <= 0 || l.CPU > l.Wall {
			l.CPU = l.Wall
		}
	}
	if l.MemoryBytes <= 0 {
		l.MemoryBytes = d.MemoryBytes
	}
	if l.OutputBytes <= 0 {
		l.OutputBytes = d.OutputBytes
	}
	if l.FileBytes <= 0 {
		l.FileBytes = d.FileBytes
	}
	if l.OpenFiles <= 0 {
		l.OpenFiles = d.OpenFiles
	}
	return l
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

func (l Limits) wire() wireLimits {
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
