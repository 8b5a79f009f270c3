package main

import (
	"strconv"
	"strings"
)

// memoryLimitEnv is where the operator puts the container's memory limit, in bytes (controllers.MemoryLimitEnv).
const memoryLimitEnv = "FULFILLMENT_MEMORY_LIMIT"

// goMemoryLimit is the Go memory limit to set from the container's: 90% of it, leaving room for memory the Go
// runtime does not count (and for the kernel's reclaim) so that the GC works harder before the container is
// killed. False when GOMEMLIMIT is set (the user's choice wins) or the container's limit is not given.
func goMemoryLimit(getenv func(string) string) (int64, bool) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, false
	}
	limit, err := strconv.ParseInt(strings.TrimSpace(getenv(memoryLimitEnv)), 10, 64)
	if err != nil || limit <= 0 {
		return 0, false
	}
	return limit - limit/10, true
}
