package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// maxStatSize bounds a read of /proc/PID/stat: one line of 52 fields, well
// under 1 KiB even with a 16-byte comm.
const maxStatSize = 4 << 10

// assumedClockTicks is USER_HZ when getconf cannot tell: 100 on every
// Linux architecture Go supports.
const assumedClockTicks = 100

// getconfTimeout bounds the run of getconf.
const getconfTimeout = 5 * time.Second

// clockTicks returns the rate of the /proc time fields (sysconf
// _SC_CLK_TCK, which Go cannot call without cgo, so it runs `getconf
// CLK_TCK`), and where the figure came from.
func clockTicks() (int64, string) {
	ctx, cancel := context.WithTimeout(context.Background(), getconfTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "getconf", "CLK_TCK").Output()
	if err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && n > 0 {
			return n, "getconf CLK_TCK"
		}
	}
	return assumedClockTicks, "assumed: getconf CLK_TCK failed"
}

// processCPU returns the user+system CPU time of process pid ("self" for
// this process) in clock ticks.
func processCPU(pid string) (int64, error) {
	f, err := os.Open("/proc/" + pid + "/stat")
	if err != nil {
		return 0, fmt.Errorf("reading cpu time of process %s: %w", pid, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStatSize))
	if err != nil {
		return 0, fmt.Errorf("reading cpu time of process %s: %w", pid, err)
	}
	return parseStatCPU(string(b))
}

// parseStatCPU returns utime+stime from the text of /proc/PID/stat
// (proc(5): fields 14 and 15, in clock ticks). The second field, comm, is
// in parentheses and may itself hold spaces and parentheses, so fields are
// counted after its last ')'.
func parseStatCPU(stat string) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("parsing /proc stat: no ')' after comm")
	}
	// After comm come field 3 (state) onwards: utime is field 14, the 12th
	// after comm.
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("parsing /proc stat: %d fields after comm, want at least 13", len(f))
	}
	ut, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parsing /proc stat utime: %w", err)
	}
	st, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parsing /proc stat stime: %w", err)
	}
	return ut + st, nil
}

// ticksToDuration converts clock ticks at hz per second to a duration.
func ticksToDuration(ticks, hz int64) time.Duration {
	return time.Duration(ticks) * time.Second / time.Duration(hz)
}
