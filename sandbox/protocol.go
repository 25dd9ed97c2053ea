package sandbox

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"

	"tabler1/layouts"
	"tabler1/sandbox/execution"
)

// maxFrame bounds one protocol frame: a request carrying its tables, or a
// result carrying capped output and a returned table.
const maxFrame = 256 << 20

// request is what the Go side sends a worker for one job.
type request struct {
	ID          uint64                    `json:"id"`
	Code        string                    `json:"code"`
	Table       *layouts.Table            `json:"table,omitempty"`
	Extra       map[string]*layouts.Table `json:"extra,omitempty"`
	Limits      wireLimits                `json:"limits"`
	ReturnTable bool                      `json:"return_table,omitempty"`
	CompileOnly bool                      `json:"compile_only,omitempty"`
	// Floor, when positive, asks for the fork floor instead of a job (see
	// Pool.forkFloor).
	Floor int `json:"floor,omitempty"`
}

// initMessage is the first frame a worker reads.
type initMessage struct {
	Bridge   string `json:"bridge"`
	UID      int    `json:"uid"`
	GID      int    `json:"gid"`
	NetNS    bool   `json:"netns"`
	MountNS  bool   `json:"mountns"`
	MinRoot  bool   `json:"minroot"`
	Seccomp  bool   `json:"seccomp"`
	Cgroup   string `json:"cgroup,omitempty"`
	Workbase string `json:"workbase,omitempty"`
	TmpBytes int64  `json:"tmp_bytes"`
	TableCap int    `json:"table_cap"`
}

// event is any frame a worker writes: ready, start or done.
type event struct {
	Event string `json:"event"`
	ID    uint64 `json:"id"`
	PID   int    `json:"pid"`

	// ready
	Mode   Isolation `json:"mode"`
	BaseVM int64     `json:"base_vm"`
	Python string    `json:"python"`
	Pandas string    `json:"pandas"`

	// done
	Status          execution.Status `json:"status"`
	Stdout          string           `json:"stdout"`
	Stderr          string           `json:"stderr"`
	ExceptionType   string           `json:"exception_type"`
	ErrorLine       int              `json:"error_line"`
	Detail          string           `json:"detail"`
	WallNS          int64            `json:"wall_ns"`
	CPUNS           int64            `json:"cpu_ns"`
	PeakMemoryBytes int64            `json:"peak_memory_bytes"`
	Table           *layouts.Table   `json:"table"`
	// Retire: the worker could not clean up after the job and exits; the
	// pool replaces it.
	Retire bool `json:"retire"`
}

// writeFrame writes v as a 4-byte big-endian length and its JSON encoding.
func writeFrame(w io.Writer, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding a frame: %w", err)
	}
	if len(body) > maxFrame {
		return fmt.Errorf("frame of %d bytes is over the %d-byte limit: send smaller tables", len(body), maxFrame)
	}
	buf := make([]byte, 4+len(body))
	binary.BigEndian.PutUint32(buf, uint32(len(body)))
	copy(buf[4:], body)
	_, err = w.Write(buf)
	return err
}

// readBody reads the body of one frame written by writeFrame.
func readBody(r io.Reader) ([]byte, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(head[:])
	if n > maxFrame {
		return nil, fmt.Errorf("frame length %d is over the %d-byte limit: the stream is corrupt", n, maxFrame)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return body, nil
}

// readEvent reads one worker event. A done event whose fields do not
// decode (a value the job put in its status record that the worker let
// through) is the job's failure, StatusRuntimeError, not the worker's: the
// frame itself was whole, so the stream is still in step. Any other
// undecodable frame is an error.
func readEvent(r io.Reader) (event, error) {
	body, err := readBody(r)
	if err != nil {
		return event{}, err
	}
	var ev event
	err = json.Unmarshal(body, &ev)
	if err == nil {
		return ev, nil
	}
	var head struct {
		Event  string `json:"event"`
		ID     uint64 `json:"id"`
		Retire bool   `json:"retire"`
	}
	if json.Unmarshal(body, &head) != nil || head.Event != "done" {
		return event{}, fmt.Errorf("decoding a %d-byte frame: %w", len(body), err)
	}
	return event{Event: "done", ID: head.ID, Retire: head.Retire, Status: execution.StatusRuntimeError,
		Detail: fmt.Sprintf("the job's result could not be read: %v", err)}, nil
}
